namespace Nano.Server.Replicas;

/// <summary>
/// Small, often-read lists kept in memory per replica, each named after the table it is read from and forgotten when
/// the database signals a change to that table (Data/Schema/0022), or a change is made through this replica.
/// </summary>
public sealed class ReadCache
{
    public const string Users = "users";

    private readonly SignalledCache<object> _reads;

    public ReadCache(ReplicaSignals signals)
    {
        _reads = new SignalledCache<object>(signals, TimeSpan.FromSeconds(30), capacity: 64);
        signals.On(ReplicaSignals.Reads, _reads.Forget);
    }

    /// <summary>The list read from <paramref name="table"/> by <paramref name="load"/>, kept until that table changes.</summary>
    public async Task<IReadOnlyList<T>> GetAsync<T>(string table, Func<Task<IReadOnlyList<T>>> load) =>
        (IReadOnlyList<T>)(await _reads.GetAsync(table, async () => ((object?)await load(), TimeSpan.MaxValue)))!;

    /// <summary>A change to users, groups or roles made through this replica: nothing kept is trusted.</summary>
    public void ForgetAll() => _reads.Clear();
}
