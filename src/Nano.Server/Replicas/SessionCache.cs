using Nano.Server.Data;

namespace Nano.Server.Replicas;

/// <summary>
/// Live sessions in memory, per replica: a request's session check costs no database round trip. The database signals
/// every change that can end or narrow a session (logout, a password change's sign-out, a deleted user, a changed group
/// or role; Data/Schema/0022), on every replica; expiry is kept with the entry, and a session kept alive on another
/// replica is read again when its cached expiry passes. Changes made through this replica are forgotten here at once
/// (<see cref="ForgetAll"/>), without waiting for the signal.
/// </summary>
public sealed class SessionCache
{
    private readonly SignalledCache<SessionRow> _sessions;
    private readonly SessionRepository _repository;

    public SessionCache(SessionRepository repository, ReplicaSignals signals)
    {
        _repository = repository;
        _sessions = new SignalledCache<SessionRow>(signals, TimeSpan.FromSeconds(30), capacity: 100_000);
        signals.On(ReplicaSignals.Sessions, id =>
        {
            if (id == "*")
                _sessions.Clear();
            else
                _sessions.Forget(id);
        });
    }

    /// <summary>The session, while it is live; null for an expired, logged-out or unknown one.</summary>
    public Task<SessionRow?> FindLiveAsync(string id) => _sessions.GetAsync(id, async () =>
    {
        var row = await _repository.FindLiveAsync(id);
        return (row, TimeSpan.FromSeconds(Math.Max(0, row?.ExpiresIn ?? 0)));
    });

    /// <summary>A change to sessions, users, groups or roles made through this replica: nothing kept is trusted.</summary>
    public void ForgetAll() => _sessions.Clear();
}
