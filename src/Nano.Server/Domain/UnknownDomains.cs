using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// Domains of this zone that cells reported and no guest row claims (<see cref="Cells.Events.CellJoined"/> keeps them):
/// listed for administrators, and removed only when one asks, one at a time.
/// </summary>
public sealed class UnknownDomains(UnknownDomainRepository unknown, GuestRepository guests, CellRepository cells, CellCommands commands, ILogger<UnknownDomains> logger)
{
    public Task<IReadOnlyList<UnknownDomainRow>> ListAsync() => unknown.ListAsync();

    /// <summary>Powers the domain off, undefines it and deletes its files on its cell, which must be reachable.</summary>
    public async Task RemoveAsync(string cellName, string guest, string user, CancellationToken ct)
    {
        var cell = InputRules.Name("cell", cellName);
        if (!Guid.TryParse(guest, out var id))
            throw Fail.Invalid($"'{guest}' is not a guest id");
        var domain = await unknown.FindAsync(cell, id) ?? throw Fail.NotFound($"cell '{cell}' reported no unknown domain for guest {id}");
        if (await guests.FindAsync(id) is { } row)
            throw Fail.Precondition($"guest '{row.Name}' claims domain {id} now: it is not unknown any more");
        await commands.RequireReachableAsync(await cells.FindAsync(cell) ?? throw Fail.NotFound($"cell '{cell}' not found"));
        if (await commands.RemoveDomainAsync(cell, id, domain.State == "running", deleteFiles: true, ct) is { Length: > 0 } error)
            throw Fail.Precondition($"cell '{cell}': {error}");
        await unknown.ForgetAsync(cell, id);
        logger.LogWarning("{User} removed unknown domain {Name} ({Guest}) and its files from cell {Cell}", user, domain.Name, id, cell);
    }
}
