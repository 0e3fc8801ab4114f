using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Nano.Contracts.Cell.V1;
using Nano.Server.Data;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>
/// Monitor channels #67 and the WebSocket relay B2, against a stand-in VNC server on loopback that the scripted cell
/// carries through a console tunnel, as nano-cell does.
/// </summary>
public sealed class MonitorTests(ZoneServer fixture) : IClassFixture<ZoneServer>, IAsyncLifetime
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly TcpListener _vnc = new(IPAddress.Loopback, 0);
    private TestAgent _agent = null!;
    private string _guest = "";

    private RestClient Rest => fixture.Rest;
    private string Admin => fixture.AdminSession;
    private int VncPort => ((IPEndPoint)_vnc.LocalEndpoint).Port;

    private IAsyncDisposable _heartbeats = null!;

    public async Task InitializeAsync()
    {
        _vnc.Start();
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pools/pm_{_suffix}", new { }, Admin)).ErrorCode);
        _agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello($"cm_{_suffix}"));
        _agent.Answer = c => c.BodyCase switch
        {
            Command.BodyOneofCase.CreateInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { State = DomainState.Stopped } },
            Command.BodyOneofCase.OpenConsole => OpenTunnel(c),
            Command.BodyOneofCase.StartInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { State = DomainState.Running, DisplayAddress = $"127.0.0.1:{VncPort}" } },
            _ => new CommandResult { Id = c.Id, Storage = TestAgent.LocalStorage("/var/lib/nano/images") },
        };
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/pm_{_suffix}/cm_{_suffix}", null, Admin)).ErrorCode);
        // Heartbeats, as a live agent sends them: on a loaded host the 3 s liveness window could lapse before the guest is scheduled.
        _heartbeats = _agent.KeepAlive();
        await _agent.MetricsAsync(new MetricsSample { AvailableMemory = 8L << 30, AvailableDisk = 100L << 30 });
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/cm_{_suffix}", Admin)).Data!["available_disk"]!.GetValue<long>() == 100L << 30); // the sample is in (the hello said 500 bytes)
        var created = await Rest.PostAsync("/api/v1/guests/", new { name = "console", pool = $"pm_{_suffix}", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 1L << 28, disks = new[] { 1L << 30 } }, Admin);
        Assert.True(created.ErrorCode == 0, created.Text);
        _guest = created.Data!["id"]!.GetValue<string>();
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{_guest}", Admin)).Data?["created"]?.GetValue<bool>() == true);
    }

    /// <summary>What nano-cell does on OpenConsole: connects to the console and calls the server back under the tunnel's id.</summary>
    private CommandResult OpenTunnel(Command command)
    {
        var open = command.OpenConsole;
        _ = Task.Run(async () =>
        {
            using var call = new CellAgentService.CellAgentServiceClient(fixture.Server.Channel).ConsoleTunnel(new Grpc.Core.Metadata { { "nano-cell-token", "test-token" } });
            await call.RequestStream.WriteAsync(new ConsoleTunnelRequest { Tunnel = open.Tunnel });
            using var console = new TcpClient();
            await console.ConnectAsync(IPAddress.Loopback, VncPort);
            var stream = console.GetStream();
            var down = Task.Run(async () =>
            {
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                    await stream.WriteAsync(call.ResponseStream.Current.Data.Memory);
            });
            var buffer = new byte[4096];
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
                await call.RequestStream.WriteAsync(new ConsoleTunnelRequest { Data = Google.Protobuf.ByteString.CopyFrom(buffer, 0, read) });
            await down;
        });
        return new CommandResult { Id = command.Id };
    }

    public async Task DisposeAsync()
    {
        _vnc.Stop();
        await _heartbeats.DisposeAsync();
        await _agent.DisposeAsync();
    }

    [Fact]
    public async Task AChannel_RelaysTheConsole_Once()
    {
        JsonAssert.Failure(412, await Rest.PostAsync("/api/v1/monitor_channels/", new { guest = _guest }, Admin));
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{_guest}", new { }, Admin)).ErrorCode);
        var token = await Rest.PostAsync("/api/v1/monitor_channels/", new { guest = _guest }, Admin);
        Assert.Equal(0, token.ErrorCode);
        var secret = (await Rest.GetAsync($"/api/v1/guests/{_guest}", Admin)).Data!["monitor_secret"]!.GetValue<string>();
        var id = token.Data!["id"]!.GetValue<string>();
        Assert.Equal($$"""{"id":"{{id}}","protocol":"vnc","username":"","password":"{{secret}}"}""", token.Data!.ToJsonString());

        var accept = _vnc.AcceptTcpClientAsync();
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("binary");
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.Server.RestPort}/api/v1/monitor_channels/{id}"), CancellationToken.None);
        Assert.Equal("binary", socket.SubProtocol);
        using var guestSide = await accept.WaitAsync(TestServer.Deadline);
        await guestSide.GetStream().WriteAsync("RFB 003.008\n"u8.ToArray());

        var buffer = new byte[64];
        var received = await socket.ReceiveAsync(buffer, new CancellationTokenSource(TestServer.Deadline).Token);
        Assert.Equal(WebSocketMessageType.Binary, received.MessageType);
        Assert.Equal("RFB 003.008\n", Encoding.ASCII.GetString(buffer, 0, received.Count));

        await socket.SendAsync("RFB 003.008\n"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
        await socket.SendAsync("ignored text"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        await socket.SendAsync(new byte[] { 1 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        var echoed = new byte[13];
        var got = 0;
        using (var timeout = new CancellationTokenSource(TestServer.Deadline))
        {
            while (got < 13)
                got += await guestSide.GetStream().ReadAsync(echoed.AsMemory(got), timeout.Token);
        }
        Assert.Equal("RFB 003.008\n\u0001", Encoding.ASCII.GetString(echoed));
        Assert.Contains(_agent.Commands, c => c.OpenConsole?.GuestId == _guest); // the cell was asked for this guest's console

        using var again = new ClientWebSocket();
        await Assert.ThrowsAsync<WebSocketException>(() => again.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.Server.RestPort}/api/v1/monitor_channels/{id}"), CancellationToken.None));
    }

    [Fact]
    public async Task ExpiredOrUnknownChannels_AreRefused_AsEnvelopes()
    {
        var channels = fixture.Server.Services.GetRequiredService<MonitorChannelRepository>();
        var expired = Guid.NewGuid();
        await channels.CreateAsync(expired, Guid.Parse(_guest), "127.0.0.1:1", "admin", TimeSpan.Zero);
        Assert.Null(await channels.ClaimAsync(expired));

        JsonAssert.Failure(400, await Rest.GetAsync($"/api/v1/monitor_channels/{Guid.NewGuid()}"));
        using var socket = new ClientWebSocket();
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.Server.RestPort}/api/v1/monitor_channels/{Guid.NewGuid()}"), CancellationToken.None));
        JsonAssert.Failure(401, await Rest.PostAsync("/api/v1/monitor_channels/", new { guest = _guest }));
    }

    [Fact]
    public async Task AConsoleTunnel_NobodyAwaits_OrWithoutTheCellsCredential_IsRefused()
    {
        var cells = new CellAgentService.CellAgentServiceClient(fixture.Server.Channel);
        foreach (var (token, expected) in new[] { ("test-token", Grpc.Core.StatusCode.NotFound), ("wrong", Grpc.Core.StatusCode.Unauthenticated) })
        {
            using var call = cells.ConsoleTunnel(new Grpc.Core.Metadata { { "nano-cell-token", token } });
            try
            {
                await call.RequestStream.WriteAsync(new ConsoleTunnelRequest { Tunnel = Guid.NewGuid().ToString() });
            }
            catch (Exception e) when (e is Grpc.Core.RpcException or InvalidOperationException)
            {
                // the server may have ended the call already (a bad credential is refused before any message is read)
            }
            var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(expected, refused.StatusCode);
        }
    }
}
