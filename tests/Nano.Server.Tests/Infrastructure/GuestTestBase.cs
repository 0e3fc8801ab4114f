using System.Net;
using Dapper;
using Nano.Contracts.Cell.V1;
using Nano.Testing;
using Npgsql;

namespace Nano.Server.Tests.Infrastructure;

/// <summary>
/// What the guest tests share: a pool with an address pool and one scripted cell on a real stream that answers as a
/// cell would, and the helpers that create guests and wait for them.
/// </summary>
public abstract class GuestTestBase(ZoneServer fixture) : IClassFixture<ZoneServer>, IAsyncLifetime
{
    protected const long MiB = 1L << 20;
    protected const string General = "0qodbfbd15imbt3g0004";
    protected readonly string Suffix = Guid.NewGuid().ToString("N")[..8];
    protected TestAgent Agent = null!;
    private IAsyncDisposable _heartbeats = null!;

    protected ZoneServer Zone => fixture;
    protected RestClient Rest => fixture.Rest;
    protected string Admin => fixture.AdminSession;
    protected string Pool => $"pg_{Suffix}";

    public async Task InitializeAsync()
    {
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/address_pools/net_{Suffix}", new { gateway = "10.20.0.1", provider = "dhcp", dns = new[] { "10.20.0.2" } }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/address_pools/net_{Suffix}/internal/ranges/10.20.0.10", new { end = "10.20.0.12", netmask = "255.255.255.0" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pools/{Pool}", new { network = $"net_{Suffix}" }, Admin)).ErrorCode);
        Agent = await TestAgent.ConnectAsync(fixture.Server.Channel, CellHello());
        Agent.Answer = Answer;
        // A live agent's heartbeats: a test outlasting the 3 s liveness timeout (or slowed by a loaded host) keeps its cell.
        _heartbeats = Agent.KeepAlive();
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/{Pool}/cg_{Suffix}", null, Admin)).ErrorCode);
        await Agent.MetricsAsync(new MetricsSample { AvailableMemory = 16L << 30, MaxMemory = 32L << 30, AvailableDisk = 500L << 30, MaxDisk = 1L << 40 });
        // Until the sample is written, the cell has the 500 bytes of free disk its hello said: the scheduler would refuse.
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/{Pool}/cg_{Suffix}", Admin)).Data!["available_disk"]!.GetValue<long>() == 500L << 30);
    }

    /// <summary>The scripted cell's stream ends (as a broken link ends it) and the cell connects again on a new one, answering with <see cref="Answer"/>.</summary>
    protected async Task ReconnectAgentAsync()
    {
        await _heartbeats.DisposeAsync();
        await Agent.DisposeAsync();
        Agent = await TestAgent.ConnectAsync(fixture.Server.Channel, CellHello(), Answer);
        _heartbeats = Agent.KeepAlive();
    }

    /// <summary>What the scripted cell says when it joins.</summary>
    protected virtual Hello CellHello() => TestAgent.Hello($"cg_{Suffix}", cores: 8);

    public async Task DisposeAsync()
    {
        await _heartbeats.DisposeAsync();
        await Agent.DisposeAsync();
    }

    protected async Task<System.Text.Json.Nodes.JsonArray> WaitBatchAsync(string kind, string id)
    {
        RestAnswer answer = null!;
        await Wait.ForAsync(async () =>
        {
            answer = await Rest.GetAsync($"/api/v1/batch/{kind}/{id}", Admin);
            return answer.Status == System.Net.HttpStatusCode.OK;
        });
        Assert.Equal(0, answer.ErrorCode);
        return answer.Data!.AsArray();
    }

    protected async Task<string> MediaAsync(string id)
    {
        var status = (await Rest.GetAsync($"/api/v1/instances/{id}", Admin)).Data!;
        return $"{status["media_attached"]!.ToJsonString()}|{status["media_source"]?.GetValue<string>()}";
    }

    protected async Task<string> ImageWithContentAsync(string area, string name, byte[] content)
    {
        var id = (await Rest.PostAsync($"/api/v1/{area}/", new { name }, Admin)).Data!["id"]!.GetValue<string>();
        Assert.Equal(0, (await Rest.UploadAsync($"/api/v1/{area}/{id}/file", new MemoryStream(content), null, Admin)).ErrorCode);
        return id;
    }

    /// <summary>Creates a guest from <see cref="Body"/>; a refusal fails the test with the server's answer.</summary>
    protected async Task<string> CreateGuestAsync(string name)
    {
        var created = await Rest.PostAsync("/api/v1/guests/", Body(name), Admin);
        Assert.True(created.ErrorCode == 0, $"creating guest {name}: {created.Text}");
        return created.Data!["id"]!.GetValue<string>();
    }

    protected object Body(string name) => new
    {
        name, pool = Pool, template = General, cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB, 512 * MiB }, modules = new[] { "cloud-init" },
    };

    protected CommandResult Answer(Command c) => c.BodyCase switch
    {
        Command.BodyOneofCase.CreateInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.CreateInstance.GuestId, State = DomainState.Stopped } },
        Command.BodyOneofCase.StartInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.StartInstance.GuestId, State = DomainState.Running, DisplayAddress = "127.0.0.1:5901" } },
        Command.BodyOneofCase.StopInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.StopInstance.GuestId, State = DomainState.Stopped } },
        Command.BodyOneofCase.DeleteInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.DeleteInstance.GuestId } },
        Command.BodyOneofCase.ResetSystem => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.ResetSystem.GuestId, State = DomainState.Stopped } },
        Command.BodyOneofCase.InsertMedia => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.InsertMedia.GuestId, State = DomainState.Running } },
        Command.BodyOneofCase.EjectMedia => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.EjectMedia.GuestId, State = DomainState.Running } },
        Command.BodyOneofCase.ApplySecurityPolicy => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.ApplySecurityPolicy.GuestId } },
        Command.BodyOneofCase.RedefineInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.RedefineInstance.Settings.GuestId, State = DomainState.Stopped } },
        _ => new CommandResult { Id = c.Id, Storage = TestAgent.LocalStorage("/var/lib/nano/images") },
    };

    protected async Task<System.Text.Json.Nodes.JsonNode> WaitCreatedAsync(string id)
    {
        RestAnswer answer = null!;
        await Wait.ForAsync(async () =>
        {
            answer = await Rest.GetAsync($"/api/v1/guests/{id}", Admin);
            return answer.ErrorCode == 0 && answer.Data!["created"]!.GetValue<bool>();
        });
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        return answer.Data!;
    }

    protected async Task<RestAnswer> WaitForFailureAsync(string id)
    {
        RestAnswer answer = null!;
        await Wait.ForAsync(async () =>
        {
            answer = await Rest.GetAsync($"/api/v1/guests/{id}", Admin);
            return answer.ErrorCode != 0;
        });
        JsonAssert.Failure(412, answer);
        return answer;
    }

    protected async Task<int> GuestRowsAsync(string? id, string? name = null)
    {
        await using var db = new NpgsqlConnection(fixture.Server.Database);
        return await db.ExecuteScalarAsync<int>("SELECT count(*) FROM guests WHERE id::text = @id OR name = @name", new { id, name });
    }

    protected async Task<int> AllocationsAsync(string id)
    {
        await using var db = new NpgsqlConnection(fixture.Server.Database);
        return await db.ExecuteScalarAsync<int>("SELECT count(*) FROM address_allocations WHERE instance = @id", new { id });
    }
}
