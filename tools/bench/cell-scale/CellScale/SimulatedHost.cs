using Nano.Cell.Host;

namespace CellScale;

/// <summary>Counters that move like a lightly loaded 64 GiB host.</summary>
internal sealed class SimulatedHost : IHostProbe
{
    private ulong _busy;
    private ulong _total;
    private long _io;

    public HostCounters Read()
    {
        _total += 1600;
        _busy += (ulong)Random.Shared.Next(100, 600);
        _io += Random.Shared.Next(1_000_000, 5_000_000);
        return new HostCounters(_busy, _total, 48L << 30, 64L << 30, _io, _io / 2, _io / 3, _io / 4);
    }

    public (long Total, long Available) Space(string path) => (1L << 40, 600L << 30);
}
