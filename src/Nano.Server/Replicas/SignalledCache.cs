using System.Collections.Concurrent;
using System.Diagnostics;

namespace Nano.Server.Replicas;

/// <summary>
/// Values kept in memory while the database's notifications say they still hold: an entry is used only while this
/// replica listens (<see cref="ReplicaSignals.Listening"/>), for at most its own validity and <c>maxAge</c>, and is
/// dropped by <see cref="Forget"/> or <see cref="Clear"/> (notifications, a resync). A value read from the database while
/// something was forgotten is not kept (it may predate the change), so the cache never holds a value older than the
/// last signal. Absent values (null) are not kept.
/// </summary>
public sealed class SignalledCache<T> where T : class
{
    private readonly ConcurrentDictionary<string, (T Value, long Until)> _entries = new();
    private readonly ReplicaSignals _signals;
    private readonly TimeSpan _maxAge;
    private readonly int _capacity;
    private long _generation;

    public SignalledCache(ReplicaSignals signals, TimeSpan maxAge, int capacity)
    {
        (_signals, _maxAge, _capacity) = (signals, maxAge, capacity);
        signals.Resynced += Clear;
    }

    /// <summary>The value of <paramref name="key"/>: kept, or loaded (with how long it may be kept at most) and kept.</summary>
    public async Task<T?> GetAsync(string key, Func<Task<(T? Value, TimeSpan ValidFor)>> load)
    {
        if (_signals.Listening && _entries.TryGetValue(key, out var entry) && Stopwatch.GetTimestamp() < entry.Until)
            return entry.Value;
        var generation = Interlocked.Read(ref _generation);
        var (value, validFor) = await load();
        if (value is null)
        {
            _entries.TryRemove(key, out _);
            return null;
        }
        if (_signals.Listening && Interlocked.Read(ref _generation) == generation)
        {
            if (_entries.Count >= _capacity)
                _entries.Clear();
            var keep = validFor < _maxAge ? validFor : _maxAge;
            _entries[key] = (value, Stopwatch.GetTimestamp() + (long)(keep.TotalSeconds * Stopwatch.Frequency));
        }
        return value;
    }

    public void Forget(string key)
    {
        Interlocked.Increment(ref _generation);
        _entries.TryRemove(key, out _);
    }

    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();
    }
}
