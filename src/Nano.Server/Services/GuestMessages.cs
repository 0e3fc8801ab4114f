using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;

namespace Nano.Server.Services;

/// <summary>Guest rows as API messages.</summary>
public static class GuestMessages
{
    public static Guest ToGuest(GuestRow g) => new()
    {
        Id = g.Id.ToString(),
        Name = g.Name,
        Created = g.Created,
        Progress = g.Progress,
        Running = g.Running,
        Lost = g.Lost,
        Owner = g.Owner,
        Group = g.GroupName,
        Pool = g.Pool,
        Cell = g.Cell ?? "",
        Host = g.Host ?? "",
        Cores = g.Cores,
        Memory = g.Memory,
        TotalDisk = g.Disks.Sum(),
        Disks = { g.Disks },
        AutoStart = g.AutoStart,
        System = g.System,
        CreateTime = g.CreateTime is { } time ? NanoTime.Print(time) : "",
    };
}
