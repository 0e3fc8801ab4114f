using Microsoft.Extensions.Options;
using Nano.Server.Hosting;

namespace Nano.Server.Replicas;

/// <summary>
/// This nano-server process as the other replicas of its zone know it: a fresh id per start (a restarted process is a new
/// replica; what its previous run held is recovered like any dead replica's) and the URLs they reach it at.
/// </summary>
public sealed class ReplicaIdentity
{
    public ReplicaIdentity(IOptions<NanoOptions> options)
    {
        var o = options.Value;
        var scheme = string.IsNullOrEmpty(o.TlsFolder) ? "http" : "https";
        var host = o.AdvertiseAddress.Length > 0 ? o.AdvertiseAddress : o.Address is "" or "*" or "0.0.0.0" ? Environment.MachineName : o.Address;
        GrpcUrl = $"{scheme}://{host}:{o.GrpcPort}";
        RestUrl = $"{scheme}://{host}:{o.RestPort}";
        Liveness = TimeSpan.FromSeconds(Math.Max(1, o.ReplicaLivenessSeconds));
    }

    public Guid Id { get; } = Guid.NewGuid();

    /// <summary>Where other replicas reach this one's gRPC listener (commands for the cells whose streams it holds).</summary>
    public string GrpcUrl { get; }

    public string RestUrl { get; }

    /// <summary>A replica whose registry row is older than this is dead (<see cref="NanoOptions.ReplicaLivenessSeconds"/>).</summary>
    public TimeSpan Liveness { get; }

    /// <summary>How often a replica refreshes its registry row and its leases: four times per liveness window.</summary>
    public TimeSpan Beat => Liveness / 4;
}
