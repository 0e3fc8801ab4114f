using Grpc.Core;
using Microsoft.Extensions.Options;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>#67: a one-shot console channel to a running guest; B2 (<see cref="Monitor.MonitorRelay"/>) opens it.</summary>
public sealed class MonitorChannelService(GuestAccess access, MonitorChannelRepository channels, IOptions<NanoOptions> options)
    : Contracts.V1.MonitorChannelService.MonitorChannelServiceBase
{
    public override async Task<CreateMonitorChannelResponse> CreateMonitorChannel(CreateMonitorChannelRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        var guest = await access.FindAsync(session, request.Guest);
        if (!guest.Running || guest.DisplayAddress.Length == 0)
            throw Fail.Precondition($"guest '{guest.Name}' is not running: it has no console");
        if (CellEndpoints.DisplayRefusal(guest.DisplayAddress, guest.Host ?? "") is { } hostile)
            throw Fail.Unavailable($"the console cell '{guest.Cell}' reports for guest '{guest.Name}' is refused: {hostile}");
        var id = Guid.NewGuid();
        await channels.CreateAsync(id, guest.Id, guest.DisplayAddress, session.User, TimeSpan.FromSeconds(options.Value.MonitorChannelSeconds));
        return new CreateMonitorChannelResponse
        {
            Data = new MonitorToken { Id = id.ToString(), Protocol = "vnc", Username = "", Password = guest.MonitorSecret },
        };
    }
}
