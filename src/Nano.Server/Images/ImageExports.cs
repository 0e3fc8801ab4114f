using System.Collections.Concurrent;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Images;

/// <summary>
/// Files the server has asked a cell to push (ExportSystem): each ticket admits exactly one PushImage,
/// whose bytes are staged in the store until the operation that asked takes them. A ticket starts with the id of the
/// replica that opened it: a cell pushing to (or fetching from) another replica is passed on to that one.
/// </summary>
public sealed class ImageExports(ImageStore store, Replicas.ReplicaIdentity self)
{
    /// <summary>The replica that opened <paramref name="ticket"/>, when it is another one's.</summary>
    public Guid? OwnerElsewhere(string ticket) =>
        !_tickets.ContainsKey(ticket) && ticket.Length == 64 && Guid.TryParseExact(ticket[..32], "N", out var owner) && owner != self.Id ? owner : null;

    private readonly ConcurrentDictionary<string, Expected> _tickets = new();

    /// <summary>Opens a ticket; dispose it to close the ticket (and drop a push nobody took).</summary>
    public Ticket Open() => new(this, $"{self.Id:N}{Guid.NewGuid():N}");

    /// <summary>Stages a cell's push against its ticket; an unknown or used ticket is refused.</summary>
    public async Task<StagedContent> ReceiveAsync(string ticket, Func<Func<ReadOnlyMemory<byte>, ValueTask>, CancellationToken, Task> source,
        CancellationToken cancellationToken)
    {
        if (!_tickets.TryGetValue(ticket, out var expected) || Interlocked.Exchange(ref expected.Claimed, 1) == 1)
            throw Fail.Denied("unknown or used export ticket");
        var staged = await store.StageAsync(source, cancellationToken);
        if (!_tickets.ContainsKey(ticket))
        {
            ImageStore.Discard(staged);
            throw Fail.Denied("the export was abandoned while the file arrived");
        }
        expected.Staged = staged;
        return staged;
    }

    /// <summary>The complete file pushed under a ticket still open (for a cell fetching it), or null.</summary>
    public StagedContent? Staged(string ticket) => _tickets.TryGetValue(ticket, out var expected) ? expected.Staged : null;

    private sealed class Expected
    {
        public int Claimed;

        public StagedContent? Staged { get; set; }
    }

    /// <summary>One expected push.</summary>
    public sealed class Ticket : IDisposable
    {
        private readonly ImageExports _owner;

        internal Ticket(ImageExports owner, string id)
        {
            _owner = owner;
            Id = id;
            owner._tickets[id] = new Expected();
        }

        public string Id { get; }

        /// <summary>The pushed file, still owned by the ticket (null when nothing complete arrived).</summary>
        public StagedContent? Peek() => _owner.Staged(Id);

        /// <summary>The pushed file, taken over by the caller (null when nothing complete arrived).</summary>
        public StagedContent? Take()
        {
            if (!_owner._tickets.TryGetValue(Id, out var expected))
                return null;
            var staged = expected.Staged;
            expected.Staged = null;
            return staged;
        }

        public void Dispose()
        {
            if (_owner._tickets.TryRemove(Id, out var expected))
                ImageStore.Discard(expected.Staged);
        }
    }
}
