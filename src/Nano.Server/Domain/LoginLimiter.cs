using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Nano.Server.Domain.Rules;
using Nano.Server.Hosting;

namespace Nano.Server.Domain;

/// <summary>
/// Slows password guessing down to nothing: once a client address, or a user name, has failed to log in
/// <see cref="NanoOptions.LoginFailuresPerAddress"/> (or <see cref="NanoOptions.LoginFailuresPerUser"/>) times within
/// <see cref="NanoOptions.LoginLockSeconds"/>, its logins are refused for the rest of that window without checking a
/// password, so a guessing loop costs no password hash and takes no time from anybody else's login. Counted per server
/// process: each replica limits on its own.
/// </summary>
public sealed class LoginLimiter(IOptions<NanoOptions> options, TimeProvider clock)
{
    /// <summary>Above this many counted keys, windows that ended are dropped (a flood of addresses cannot grow it for ever).</summary>
    private const int PruneAbove = 10_000;

    private readonly ConcurrentDictionary<string, Window> _failures = new();

    private sealed class Window(DateTimeOffset start)
    {
        public DateTimeOffset Start { get; } = start;
        public int Count;
    }

    private TimeSpan Length => TimeSpan.FromSeconds(options.Value.LoginLockSeconds);

    /// <summary>Refuses (RESOURCE_EXHAUSTED) a login from an address, or for a user, that failed too often lately.</summary>
    public void Admit(string address, string user)
    {
        if (LockedFor($"a:{address}", options.Value.LoginFailuresPerAddress) is { } addressWait)
            throw Fail.TooMany($"too many failed logins from {address}: try again in {Seconds(addressWait)} s");
        if (user.Length > 0 && LockedFor($"u:{user}", options.Value.LoginFailuresPerUser) is { } userWait)
            throw Fail.TooMany($"too many failed logins for user '{user}': try again in {Seconds(userWait)} s");
    }

    /// <summary>Counts a failed login; true when it is the one that locks the address or the user (worth one log line).</summary>
    public bool Failed(string address, string user)
    {
        if (_failures.Count > PruneAbove)
            Prune();
        var locks = Count($"a:{address}") == options.Value.LoginFailuresPerAddress;
        if (user.Length > 0)
            locks |= Count($"u:{user}") == options.Value.LoginFailuresPerUser;
        return locks;
    }

    private int Count(string key)
    {
        var now = clock.GetUtcNow();
        var window = _failures.AddOrUpdate(key, _ => new Window(now), (_, w) => now - w.Start >= Length ? new Window(now) : w);
        return Interlocked.Increment(ref window.Count);
    }

    /// <summary>How long <paramref name="key"/> stays locked, or null when it is not.</summary>
    private TimeSpan? LockedFor(string key, int limit)
    {
        if (!_failures.TryGetValue(key, out var window) || Volatile.Read(ref window.Count) < limit)
            return null;
        var left = window.Start + Length - clock.GetUtcNow();
        return left > TimeSpan.Zero ? left : null;
    }

    private void Prune()
    {
        var now = clock.GetUtcNow();
        foreach (var (key, window) in _failures)
        {
            if (now - window.Start >= Length)
                _failures.TryRemove(new KeyValuePair<string, Window>(key, window));
        }
    }

    private static int Seconds(TimeSpan wait) => (int)Math.Ceiling(wait.TotalSeconds);
}
