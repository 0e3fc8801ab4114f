using Microsoft.Extensions.Options;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;
using Nano.Server.Hosting;

namespace Nano.Server.Domain;

/// <summary>
/// Slows password guessing down to nothing: once a client address, or a user name, has failed to log in
/// <see cref="NanoOptions.LoginFailuresPerAddress"/> (or <see cref="NanoOptions.LoginFailuresPerUser"/>) times within
/// <see cref="NanoOptions.LoginLockSeconds"/>, its logins are refused for the rest of that window without checking a
/// password, so a guessing loop costs no password hash and takes no time from anybody else's login. Failures are
/// counted in the database, for the whole zone: a guesser spreading tries over the replicas (a load balancer does it
/// for them) gets no more than through one. The leader's sweep deletes ended windows.
/// </summary>
public sealed class LoginLimiter(LoginFailureRepository failures, IOptions<NanoOptions> options)
{
    /// <summary>The length of a window of counted failures.</summary>
    private TimeSpan Window => TimeSpan.FromSeconds(options.Value.LoginLockSeconds);

    /// <summary>Refuses (RESOURCE_EXHAUSTED) a login from an address, or for a user, that failed too often lately.</summary>
    public async Task AdmitAsync(string address, string user)
    {
        List<(string Key, int Limit)> keys = [(AddressKey(address), options.Value.LoginFailuresPerAddress)];
        if (user.Length > 0)
            keys.Add((UserKey(user), options.Value.LoginFailuresPerUser));
        var locked = (await failures.LockedAsync(keys, Window)).ToDictionary(l => l.Key, l => l.SecondsLeft);
        if (locked.TryGetValue(AddressKey(address), out var addressWait))
            throw Fail.TooMany($"too many failed logins from {address}: try again in {Seconds(addressWait)} s");
        if (locked.TryGetValue(UserKey(user), out var userWait))
            throw Fail.TooMany($"too many failed logins for user '{user}': try again in {Seconds(userWait)} s");
    }

    /// <summary>Counts a failed login; true when it is the one that locks the address or the user (worth one log line).</summary>
    public async Task<bool> FailedAsync(string address, string user)
    {
        string[] keys = user.Length > 0 ? [AddressKey(address), UserKey(user)] : [AddressKey(address)];
        var counts = await failures.CountAsync(keys, Window);
        return counts[0] == options.Value.LoginFailuresPerAddress || (counts.Length > 1 && counts[1] == options.Value.LoginFailuresPerUser);
    }

    /// <summary>Forgets the windows that ended (the leader's sweep).</summary>
    public Task SweepAsync() => failures.DeleteEndedAsync(Window);

    private static string AddressKey(string address) => $"a:{address}";

    private static string UserKey(string user) => $"u:{user}";

    private static int Seconds(double seconds) => Math.Max(1, (int)Math.Ceiling(seconds));
}
