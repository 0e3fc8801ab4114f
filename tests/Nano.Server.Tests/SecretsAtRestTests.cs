using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nano.Server.Data;
using Nano.Server.Hosting;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;
using Npgsql;

namespace Nano.Server.Tests;

/// <summary>
/// Security, secrets at rest (issue 13, item 9): a copy of the database does not give guests' console and administrator
/// passwords away; they are sealed under a key in the data folder, and the API still hands them out. (The cell's side,
/// files readable by their owner only: GuestOnKvmTests.)
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SecretsAtRestTests(ZoneServer fixture) : GuestTestBase(fixture)
{
    private async Task<(string Monitor, string Admin)> StoredAsync(string id)
    {
        await using var c = await NpgsqlDataSource.Create(Zone.Server.Database).OpenConnectionAsync();
        return await c.QuerySingleAsync<(string, string)>("SELECT monitor_secret, admin_secret FROM guests WHERE id = @id", new { id = Guid.Parse(id) });
    }

    [Fact]
    public async Task AGuestsPasswords_AreStoredSealed_AndHandedOutInTheClear()
    {
        var id = await CreateGuestAsync("sealed");
        await WaitCreatedAsync(id);
        var monitor = (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["monitor_secret"]!.GetValue<string>();
        var admin = (await Rest.GetAsync($"/api/v1/guests/{id}/auth", Admin)).Data!["password"]!.GetValue<string>();
        Assert.Equal(8, monitor.Length);
        Assert.NotEmpty(admin);
        Assert.Equal(monitor, Agent.Commands.Single(c => c.CreateInstance?.GuestId == id).CreateInstance.MonitorSecret);

        var stored = await StoredAsync(id);
        foreach (var (value, plain) in new[] { (stored.Monitor, monitor), (stored.Admin, admin) })
        {
            Assert.StartsWith(SecretSeal.Prefix, value);
            Assert.DoesNotContain(plain, value);
        }

        // A new console password is stored sealed too.
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/guests/{id}/monitor/secret", new { }, Admin)).ErrorCode);
        var renewed = (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["monitor_secret"]!.GetValue<string>();
        Assert.StartsWith(SecretSeal.Prefix, (await StoredAsync(id)).Monitor);
        Assert.DoesNotContain(renewed, (await StoredAsync(id)).Monitor);

        var key = Path.Combine(Zone.Server.Services.GetRequiredService<IOptions<NanoOptions>>().Value.DataDir, "secrets.key");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
    }

    [Fact]
    public async Task PasswordsStoredBeforeSealing_AreSealedAtStart_AndReadTheSame()
    {
        var id = await CreateGuestAsync("legacy");
        await WaitCreatedAsync(id);
        await using (var c = await NpgsqlDataSource.Create(Zone.Server.Database).OpenConnectionAsync())
            await c.ExecuteAsync("UPDATE guests SET monitor_secret = 'Old2Pass', admin_secret = 'OldAdm1n' WHERE id = @id", new { id = Guid.Parse(id) });
        Assert.Equal("Old2Pass", (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["monitor_secret"]!.GetValue<string>());

        Assert.True(await Zone.Server.Services.GetRequiredService<GuestRepository>().SealStoredSecretsAsync() >= 1);
        var stored = await StoredAsync(id);
        Assert.StartsWith(SecretSeal.Prefix, stored.Monitor);
        Assert.StartsWith(SecretSeal.Prefix, stored.Admin);
        Assert.Equal("Old2Pass", (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["monitor_secret"]!.GetValue<string>());
        Assert.Equal("OldAdm1n", (await Rest.GetAsync($"/api/v1/guests/{id}/auth", Admin)).Data!["password"]!.GetValue<string>());
    }

    /// <summary>
    /// Replicas starting at once on a new data folder each make the secrets key if it is missing: none may read another's
    /// half-written key (one of two replicas started together failed so), and all end with the same key.
    /// </summary>
    [Fact]
    public async Task ManyProcessesMakingTheKeyAtOnce_AllReadOneWholeKey()
    {
        for (var round = 0; round < 20; round++)
        {
            var folder = Directory.CreateTempSubdirectory("nano-key-").FullName;
            try
            {
                using var start = new Barrier(8);
                var seals = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
                {
                    start.SignalAndWait();
                    return new SecretSeal(Options.Create(new NanoOptions { DataDir = folder }));
                })));
                Assert.Single(seals.Select(s => s.Fingerprint).Distinct());
                Assert.Equal(["secrets.key"], Directory.GetFiles(folder).Select(Path.GetFileName));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "secrets.key")));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
