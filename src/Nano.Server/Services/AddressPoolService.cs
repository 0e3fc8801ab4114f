using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>Address pools and ranges (#26-#34); the documented paths without a pool follow api-decisions.md A3.</summary>
public sealed class AddressPoolService(AddressPoolRepository addressPools, AddressAllocations allocations) : Contracts.V1.AddressPoolService.AddressPoolServiceBase
{
    private static readonly string[] Providers = ["dhcp", "cloudinit"];
    private static readonly string[] Modes = ["internal", "external", "both"];

    public override async Task<ListAddressPoolsResponse> ListAddressPools(ListAddressPoolsRequest request, ServerCallContext context) => new()
    {
        Data =
        {
            (await addressPools.ListAsync()).Select(p => new AddressPoolSummary
            {
                Name = p.Name, Gateway = p.Gateway, Dns = { p.Dns }, Provider = p.Provider, Mode = p.Mode,
                Addresses = (int)p.Addresses, Allocated = (int)p.Allocated,
            }),
        },
    };

    public override async Task<GetAddressPoolResponse> GetAddressPool(GetAddressPoolRequest request, ServerCallContext context)
    {
        var pool = await FindAsync(request.Name);
        var ranges = await addressPools.ListRangesAsync(pool.Name);
        var allocated = await allocations.ListAsync(pool.Name);
        return new GetAddressPoolResponse
        {
            Data = new AddressPool
            {
                Name = pool.Name, Gateway = pool.Gateway, Dns = { pool.Dns }, Provider = pool.Provider, Mode = pool.Mode,
                Ranges = { ranges.Select(r => new AddressRangeConfig { Start = Ipv4.Format(r.StartAddress), End = Ipv4.Format(r.EndAddress), Netmask = r.Netmask, Capacity = (int)r.Capacity }) },
                Allocated = { allocated.Select(ToMessage) },
            },
        };
    }

    public override async Task<CreateAddressPoolResponse> CreateAddressPool(CreateAddressPoolRequest request, ServerCallContext context)
    {
        var pool = Validate(request.Name, request.Gateway, request.Provider, request.Dns, request.Mode);
        await addressPools.CreateAsync(pool).OrFail(exists: $"address pool '{pool.Name}' already exists");
        return new CreateAddressPoolResponse();
    }

    public override async Task<ModifyAddressPoolResponse> ModifyAddressPool(ModifyAddressPoolRequest request, ServerCallContext context)
    {
        var pool = Validate(request.Name, request.Gateway, request.Provider, request.Dns, request.Mode);
        await addressPools.UpdateAsync(pool).OrFail(missing: $"address pool '{pool.Name}' not found");
        return new ModifyAddressPoolResponse();
    }

    public override async Task<DeleteAddressPoolResponse> DeleteAddressPool(DeleteAddressPoolRequest request, ServerCallContext context)
    {
        var name = InputRules.Name("address pool", request.Name);
        var written = await addressPools.DeleteAsync(name);
        written.OrFail(missing: $"address pool '{name}' not found", inUse: written.Cause.Length > 0
            ? $"address pool '{name}' is used by compute pool '{written.Cause}'"
            : $"address pool '{name}' still has allocated addresses");
        return new DeleteAddressPoolResponse();
    }

    public override async Task<ListAddressRangesResponse> ListAddressRanges(ListAddressRangesRequest request, ServerCallContext context)
    {
        var pool = await FindAsync(request.Pool);
        var type = RangeType(request.Type);
        return new ListAddressRangesResponse
        {
            Data = { (await addressPools.ListRangesAsync(pool.Name, type)).Select(r => new AddressRange { Start = Ipv4.Format(r.StartAddress), End = Ipv4.Format(r.EndAddress), Netmask = r.Netmask, Type = r.Type }) },
        };
    }

    public override async Task<GetAddressRangeResponse> GetAddressRange(GetAddressRangeRequest request, ServerCallContext context)
    {
        var range = await ResolveRangeAsync(request.Pool, request.Type, request.Start);
        var allocated = await allocations.ListAsync(range.Pool, range.StartAddress);
        return new GetAddressRangeResponse
        {
            Data = new AddressRangeStatus
            {
                Start = Ipv4.Format(range.StartAddress), End = Ipv4.Format(range.EndAddress), Netmask = range.Netmask, Capacity = (int)range.Capacity,
                Allocated = { allocated.Select(ToMessage) },
            },
        };
    }

    /// <summary>Adds a range [start, end] inside the subnet start/netmask; only internal ranges exist (A3).</summary>
    public override async Task<AddAddressRangeResponse> AddAddressRange(AddAddressRangeRequest request, ServerCallContext context)
    {
        // With a body of "*" transcoding binds no query parameters; A3 allows ?pool= and ?type= here too.
        var query = context.GetHttpContext().Request.Query;
        if (string.IsNullOrEmpty(request.Pool))
            request.Pool = query["pool"].ToString();
        if (string.IsNullOrEmpty(request.Type))
            request.Type = query["type"].ToString();
        var type = RangeType(request.Type);
        if (type != "internal")
            throw Fail.Invalid($"unsupported range type '{type}': only internal ranges are allocated");
        var pool = string.IsNullOrEmpty(request.Pool) ? await OnlyPoolAsync() : (await FindAsync(request.Pool)).Name;
        var start = Ipv4.Parse("start", request.Start);
        var end = Ipv4.Parse("end", request.End);
        var prefix = Ipv4.PrefixLength("netmask", request.Netmask);
        if (end < start)
            throw Fail.Invalid($"end {request.End} is before start {request.Start}");
        if (Ipv4.Network(end, prefix) != Ipv4.Network(start, prefix))
            throw Fail.Invalid($"end {request.End} is outside the subnet {request.Start}/{prefix}");
        var written = await addressPools.AddRangeAsync(new AddressRangeRow(pool, type, start, end, request.Netmask));
        written.OrFail(missing: $"address pool '{pool}' not found",
            inUse: $"range {Ipv4.Format(start)}-{Ipv4.Format(end)} overlaps {written.Cause} of '{pool}'");
        return new AddAddressRangeResponse();
    }

    public override async Task<RemoveAddressRangeResponse> RemoveAddressRange(RemoveAddressRangeRequest request, ServerCallContext context)
    {
        var range = await ResolveRangeAsync(request.Pool, request.Type, request.Start);
        await addressPools.RemoveRangeAsync(range.Pool, range.Type, range.StartAddress).OrFail(
            missing: $"address pool '{range.Pool}' has no {range.Type} range starting at {Ipv4.Format(range.StartAddress)}",
            inUse: $"the range starting at {Ipv4.Format(range.StartAddress)} still has allocated addresses");
        return new RemoveAddressRangeResponse();
    }

    /// <summary>The range starting at <paramref name="start"/>: in the named pool, or the only pool that has one (A3).</summary>
    private async Task<AddressRangeRow> ResolveRangeAsync(string pool, string typeText, string start)
    {
        var type = RangeType(typeText);
        var address = Ipv4.Parse("start", start);
        if (!string.IsNullOrEmpty(pool))
        {
            var named = await FindAsync(pool);
            return (await addressPools.ListRangesAsync(named.Name, type)).FirstOrDefault(r => r.StartAddress == address)
                ?? throw Fail.NotFound($"address pool '{named.Name}' has no {type} range starting at {start}");
        }
        var matches = await addressPools.FindRangesStartingAtAsync(address, type);
        return matches.Count switch
        {
            0 => throw Fail.NotFound($"no {type} range starts at {start}"),
            1 => matches[0],
            _ => throw Fail.Invalid($"{matches.Count} address pools have a range starting at {start}: name one with ?pool="),
        };
    }

    private async Task<string> OnlyPoolAsync()
    {
        var names = await addressPools.ListNamesAsync();
        return names.Count == 1 ? names[0] : throw Fail.Invalid("name the address pool (body or ?pool=): there is not exactly one");
    }

    private async Task<AddressPoolRow> FindAsync(string name)
    {
        InputRules.Name("address pool", name);
        return await addressPools.FindAsync(name) ?? throw Fail.NotFound($"address pool '{name}' not found");
    }

    private static string RangeType(string type) => type switch
    {
        "" or "internal" => "internal",
        "external" => "external",
        _ => throw Fail.Invalid($"range type must be internal or external, not '{type}'"),
    };

    private static AddressPoolRow Validate(string name, string gateway, string provider, IEnumerable<string> dns, string mode)
    {
        InputRules.Name("address pool", name);
        Ipv4.Parse("gateway", gateway);
        if (!Providers.Contains(provider))
            throw Fail.Invalid($"provider must be dhcp or cloudinit, not '{provider}'");
        var servers = dns.ToArray();
        foreach (var server in servers)
            Ipv4.Parse("dns", server);
        mode = string.IsNullOrEmpty(mode) ? "internal" : mode;
        if (!Modes.Contains(mode))
            throw Fail.Invalid($"mode must be internal, external or both, not '{mode}'");
        return new AddressPoolRow { Name = name, Gateway = gateway, Provider = provider, Mode = mode, Dns = servers };
    }

    private static AllocatedAddress ToMessage(AllocationRow a) => new() { Address = Ipv4.Format(a.Address), Instance = a.Instance };
}
