using Nano.Contracts.Cell.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Changes of a created guest: hardware and limits, system reset, credentials, and reports that arrive while its cell works.</summary>
public sealed class GuestChangeTests(ZoneServer fixture) : GuestTestBase(fixture)
{
    [Fact]
    public async Task Modifications_RedefineTheDomainFromTheRow_AndARefusalChangesNothing()
    {
        var id = await CreateGuestAsync("tuned");
        await WaitCreatedAsync(id);
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 2, immediate = true }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/memory", new { memory = 512 * MiB }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/auto_start", new { enable = true }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/qos/cpu/", new { priority = "low" }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/qos/disk", new { read_speed = 1000, write_iops = 50 }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/qos/network/", new { receive_speed = 2048, send_speed = 1024 }, Admin));
        var before = (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["monitor_secret"]!.GetValue<string>();
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/monitor/secret", null, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/name/", new { name = "renamed" }, Admin));

        var guest = (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!;
        var secret = guest["monitor_secret"]!.GetValue<string>();
        Assert.Equal(8, secret.Length); // all VNC authentication takes
        Assert.NotEqual(before, secret);
        Assert.Equal($"renamed|2|{512 * MiB}|true|low|1000|0|0|50|2048|1024",
            $"{guest["name"]}|{guest["cores"]}|{guest["memory"]}|{guest["auto_start"]!.ToJsonString()}|{guest["qos"]!["cpu_priority"]}|{guest["qos"]!["read_speed"]}|{guest["qos"]!["write_speed"]}|{guest["qos"]!["read_iops"]}|{guest["qos"]!["write_iops"]}|{guest["qos"]!["receive_speed"]}|{guest["qos"]!["send_speed"]}");
        var last = Agent.Commands.Last(c => c.RedefineInstance?.Settings.GuestId == id).RedefineInstance.Settings;
        Assert.Equal((2, 512 * MiB, true, "low", 1000L, 50L, 2048L, secret), (last.Cores, last.Memory, last.AutoStart, last.Qos.CpuPriority, last.Qos.ReadSpeed, last.Qos.WriteIops, last.Qos.ReceiveSpeed, last.MonitorSecret));
        Assert.Equal(7, Agent.Commands.Count(c => c.RedefineInstance?.Settings.GuestId == id));

        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 2 }, Admin));
        JsonAssert.Failure(400, await Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 0 }, Admin));
        JsonAssert.Failure(400, await Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 25 }, Admin)); // beyond Nano:MaxCores
        JsonAssert.Failure(400, await Rest.PutAsync($"/api/v1/guests/{id}/memory", new { memory = 33L << 30 }, Admin)); // beyond Nano:MaxMemoryGb
        JsonAssert.Failure(400, await Rest.PutAsync($"/api/v1/guests/{id}/disks/resize/0", new { size = 65L << 30 }, Admin)); // beyond Nano:MaxDiskGb
        JsonAssert.Failure(400, await Rest.PutAsync($"/api/v1/guests/{id}/qos/cpu", new { priority = "urgent" }, Admin));
        JsonAssert.Failure(400, await Rest.PutAsync($"/api/v1/guests/{id}/name", new { name = "bad name" }, Admin));

        Agent.Answer = c => c.RedefineInstance is not null ? new CommandResult { Id = c.Id, Error = "virDomainDefineXML: no" } : Answer(c);
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 4 }, Admin));
        Assert.Equal(2, (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["cores"]!.GetValue<int>());
        Agent.Answer = Answer;

        JsonAssert.Success("\"\"", await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin));
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{id}/qos/disk", new { read_speed = 1 }, Admin));
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{id}/name", new { name = "again" }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 1 }, Admin));
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin));
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin));
    }

    [Fact]
    public async Task SystemReset_AndStoredCredentials()
    {
        var id = await CreateGuestAsync("reset");
        await WaitCreatedAsync(id);
        var auth = await Rest.GetAsync($"/api/v1/guests/{id}/auth", Admin);
        Assert.Equal("root", auth.Data!["user"]!.GetValue<string>());
        Assert.Equal(10, auth.Data!["password"]!.GetValue<string>().Length);

        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/system/", new { }, Admin));
        Assert.Equal(1024 * MiB, Agent.Commands.Single(c => c.ResetSystem?.GuestId == id).ResetSystem.Size);
        Assert.True((await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["created"]!.GetValue<bool>());
        var operations = await Rest.GetAsync($"/api/v1/operations/?target={id}", Admin);
        Assert.Equal("reset_system:succeeded", $"{operations.Data![0]!["kind"]}:{operations.Data![0]!["state"]}");
        JsonAssert.Failure(404, await Rest.PutAsync($"/api/v1/guests/{id}/system/", new { from_image = "img" }, Admin));

        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{id}/system/", new { }, Admin));
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
    }

    [Fact]
    public async Task ReportsOfAGuestWhoseChangeWaitsForItsCell_DoNotHoldUpTheCellsAnswer()
    {
        var id = (await Rest.PostAsync("/api/v1/guests/", new
        {
            name = "busy-row", pool = Pool, template = General, cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB }, modules = new[] { "qemu" },
        }, Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(id);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);

        // The password change waits for the cell; meanwhile the cell reports on that guest.
        var gate = new TaskCompletionSource();
        Agent.HoldAnswers(c => c.SetGuestPassword is not null, gate.Task, Answer);
        var change = Rest.PutAsync($"/api/v1/guests/{id}/auth", new { password = "Busy-pass1" }, Admin);
        await Wait.ForAsync(() => Task.FromResult(Agent.Commands.Any(c => c.SetGuestPassword?.GuestId == id)));
        await Agent.MetricsAsync(new MetricsSample { AvailableMemory = 16L << 30, MaxMemory = 32L << 30, Guests = { new GuestMetrics { GuestId = id, CpuUsage = 5 } } });
        await Agent.SendAsync(new ConnectRequest { DomainEvent = new DomainEvent { GuestId = id, Kind = DomainEventKind.Resumed } });
        gate.SetResult();

        JsonAssert.Success("""{"user":"root","password":"Busy-pass1"}""", await change); // not 503: the answer was read behind the reports
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
    }

    [Fact]
    public async Task TwoChangesWhileTheCellWorks_BothLand_AndTheRowIsNotHeld()
    {
        var id = await CreateGuestAsync("two-changes");
        await WaitCreatedAsync(id);
        var gate = new TaskCompletionSource();
        Agent.HoldAnswers(c => c.RedefineInstance?.Settings.GuestId == id, gate.Task, Answer);
        var cores = Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 3 }, Admin);
        var memory = Rest.PutAsync($"/api/v1/guests/{id}/memory", new { memory = 768 * MiB }, Admin);
        await Wait.ForAsync(() => Task.FromResult(Agent.Commands.Count(c => c.RedefineInstance?.Settings.GuestId == id) == 2));

        // Both changes wait for the cell; neither holds the guest's row meanwhile.
        await using (var c = await Npgsql.NpgsqlDataSource.Create(Zone.Server.Database).OpenConnectionAsync())
        await using (var lockRow = new Npgsql.NpgsqlCommand("SELECT 1 FROM guests WHERE id = @id FOR UPDATE NOWAIT", c))
        {
            lockRow.Parameters.AddWithValue("id", Guid.Parse(id));
            Assert.Equal(1, await lockRow.ExecuteScalarAsync());
        }
        gate.SetResult();

        // Both read the same row: the one written second starts again from the first's and has the cell apply both.
        JsonAssert.Success("\"\"", await cores);
        JsonAssert.Success("\"\"", await memory);
        var guest = (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!;
        Assert.Equal($"3|{768 * MiB}", $"{guest["cores"]}|{guest["memory"]}");
        var redefines = Agent.Commands.Where(c => c.RedefineInstance?.Settings.GuestId == id).Select(c => c.RedefineInstance.Settings).ToList();
        Assert.Equal(3, redefines.Count);
        Assert.Equal((3, 768 * MiB), (redefines[^1].Cores, redefines[^1].Memory));
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin));
    }

    [Fact]
    public async Task Auth_IsSetThroughTheGuestAgent_AndStored()
    {
        var plain = await CreateGuestAsync("no-agent");
        var agent = (await Rest.PostAsync("/api/v1/guests/", new
        {
            name = "with-agent", pool = Pool, template = General, cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB }, modules = new[] { "qemu" },
        }, Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(plain);
        await WaitCreatedAsync(agent);
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{agent}/auth", new { password = "N3w-pass" }, Admin));
        foreach (var id in new[] { plain, agent })
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{plain}/auth", new { password = "N3w-pass" }, Admin));

        JsonAssert.Success("""{"user":"root","password":"N3w-pass"}""", await Rest.PutAsync($"/api/v1/guests/{agent}/auth", new { password = "N3w-pass" }, Admin));
        JsonAssert.Success("""{"user":"root","password":"N3w-pass"}""", await Rest.GetAsync($"/api/v1/guests/{agent}/auth", Admin));
        Assert.Equal(new SetGuestPassword { GuestId = agent, User = "root", Password = "N3w-pass" }, Agent.Commands.Last(c => c.SetGuestPassword is not null).SetGuestPassword);

        Agent.Answer = c => c.SetGuestPassword is not null ? new CommandResult { Id = c.Id, Error = "QEMU guest agent is not connected" } : Answer(c);
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{agent}/auth", new { user = "ops", password = "Other-pass" }, Admin));
        JsonAssert.Success("""{"user":"root","password":"N3w-pass"}""", await Rest.GetAsync($"/api/v1/guests/{agent}/auth", Admin));
        Agent.Answer = Answer;
        foreach (var id in new[] { plain, agent })
        {
            Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin)).ErrorCode);
            Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
        }
    }
}
