using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>
/// Security, access rules that hold on every read (issue 13, item 10), each attack over REST and gRPC by unprivileged
/// users: an owner and a colleague of one user group whose visibility flags are on, and an outsider of another group.
/// Group visibility lets the colleague read, never change; the pool's guest list shows the outsider nothing of theirs;
/// only a user administrator creates in another's name.
/// </summary>
public sealed class ReadAccessSecurityTests(ZoneServer fixture) : GuestTestBase(fixture)
{
    private const string Password = "Us3rPassword";
    private static readonly string[] Menus = ["instance", "image", "media", "policies", "visibility", "dashboard"];

    private string Team => $"team{Suffix}";
    private string OwnerName => $"own{Suffix}";

    /// <summary>Sessions of the owner, a colleague in the owner's group, and an outsider; the group's visibility flags are on.</summary>
    private async Task<(string Owner, string Colleague, string Outsider)> UsersAsync()
    {
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/roles/r{Suffix}", new { menu = Menus }, Admin)).ErrorCode);
        foreach (var group in new[] { Team, $"out{Suffix}" })
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/user_groups/{group}", new { display = group, role = new[] { $"r{Suffix}" } }, Admin)).ErrorCode);
        foreach (var (user, group) in new[] { (OwnerName, Team), ($"col{Suffix}", Team), ($"outu{Suffix}", $"out{Suffix}") })
        {
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/users/{user}", new { password = Password }, Admin)).ErrorCode);
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/user_groups/{group}/members/{user}", null, Admin)).ErrorCode);
        }
        var owner = await Zone.LoginAsync(OwnerName, Password);
        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/resource_visibilities/",
            new { instance_visible = true, disk_image_visible = true, media_image_visible = true }, owner));
        return (owner, await Zone.LoginAsync($"col{Suffix}", Password), await Zone.LoginAsync($"outu{Suffix}", Password));
    }

    private async Task<string> GuestOfAsync(string session, string name)
    {
        var created = await Rest.PostAsync("/api/v1/guests/", Body(name), session);
        Assert.True(created.ErrorCode == 0, created.Text);
        var id = created.Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(id);
        return id;
    }

    private static async Task<StatusCode> GrpcRefusalAsync(Func<Task> call) => (await Assert.ThrowsAsync<RpcException>(call)).StatusCode;

    [Fact]
    public async Task ThePoolsGuestList_ShowsOnlyTheGuestsTheSessionMayRead()
    {
        var (owner, colleague, outsider) = await UsersAsync();
        var theirs = await GuestOfAsync(owner, "theirs");
        var admins = await CreateGuestAsync("admins");
        await WaitCreatedAsync(admins);

        string Listed(RestAnswer answer) => string.Join(",", answer.Data!.AsArray().Select(g => g!["name"]!.GetValue<string>()).Order());
        Assert.Equal("", Listed(await Rest.GetAsync($"/api/v1/instance_status/{Pool}", outsider)));
        Assert.Equal("", Listed(await Rest.GetAsync($"/api/v1/instance_status/cg_{Suffix}", outsider)));
        // Listed names carry the owner's group (group.name).
        Assert.Equal($"{Team}.theirs", Listed(await Rest.GetAsync($"/api/v1/instance_status/{Pool}", colleague)));
        Assert.Equal($"{Team}.theirs", Listed(await Rest.GetAsync($"/api/v1/instance_status/{Pool}", owner)));
        Assert.Equal($"admin.admins,{Team}.theirs", Listed(await Rest.GetAsync($"/api/v1/instance_status/{Pool}", Admin)));

        var status = new StatusService.StatusServiceClient(Zone.Server.Channel);
        Assert.Empty((await status.ListInstanceStatusAsync(new ListInstanceStatusRequest { Name = Pool }, TestServer.Call(outsider))).Data);
        Assert.Equal([theirs], (await status.ListInstanceStatusAsync(new ListInstanceStatusRequest { Name = Pool }, TestServer.Call(colleague))).Data.Select(g => g.Id));
    }

    [Fact]
    public async Task GroupVisibility_GrantsReading_NotChangesNorSecrets()
    {
        var (owner, colleague, outsider) = await UsersAsync();
        var id = await GuestOfAsync(owner, "shared");

        var read = await Rest.GetAsync($"/api/v1/guests/{id}", colleague);
        Assert.Equal(0, read.ErrorCode);
        Assert.Equal("", read.Data!["monitor_secret"]!.GetValue<string>());
        Assert.NotEqual("", (await Rest.GetAsync($"/api/v1/guests/{id}", owner)).Data!["monitor_secret"]!.GetValue<string>());
        Assert.Equal("", (await Rest.GetAsync($"/api/v1/instances/{id}", colleague)).Data!["monitor_secret"]!.GetValue<string>());
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/guests/{id}", outsider));

        JsonAssert.Failure(403, await Rest.GetAsync($"/api/v1/guests/{id}/auth", colleague));
        JsonAssert.Failure(403, await Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 2 }, colleague));
        JsonAssert.Failure(403, await Rest.PostAsync($"/api/v1/instances/{id}", new { }, colleague));
        JsonAssert.Failure(403, await Rest.PostAsync($"/api/v1/monitor_channels/", new { guest = id }, colleague));
        JsonAssert.Failure(403, await Rest.DeleteAsync($"/api/v1/guests/{id}", session: colleague));

        var guests = new GuestService.GuestServiceClient(Zone.Server.Channel);
        Assert.Equal("", (await guests.GetGuestAsync(new GetGuestRequest { Id = id }, TestServer.Call(colleague))).Data.MonitorSecret);
        Assert.Equal(StatusCode.PermissionDenied, await GrpcRefusalAsync(async () =>
            await guests.GetGuestAuthAsync(new GetGuestAuthRequest { Id = id }, TestServer.Call(colleague))));
        Assert.Equal(StatusCode.PermissionDenied, await GrpcRefusalAsync(async () =>
            await guests.DeleteGuestAsync(new DeleteGuestRequest { Id = id }, TestServer.Call(colleague))));

        Assert.DoesNotContain(Agent.Commands, c => c.DeleteInstance?.GuestId == id || c.StartInstance?.GuestId == id);
        Assert.Equal(1, (await Rest.GetAsync($"/api/v1/guests/{id}", owner)).Data!["cores"]!.GetValue<int>());
    }

    [Fact]
    public async Task AnImageOfTheGroup_IsUsedAndRead_ButChangedOnlyByItsOwner()
    {
        var (owner, colleague, _) = await UsersAsync();
        var created = await Rest.PostAsync("/api/v1/disk_images/", new { name = $"base{Suffix}" }, owner);
        Assert.Equal(0, created.ErrorCode);
        var id = created.Data!["id"]!.GetValue<string>();

        Assert.Equal(0, (await Rest.GetAsync($"/api/v1/disk_images/{id}", colleague)).ErrorCode);
        JsonAssert.Failure(403, await Rest.PutAsync($"/api/v1/disk_images/{id}", new { name = "renamed" }, colleague));
        JsonAssert.Failure(403, await Rest.DeleteAsync($"/api/v1/disk_images/{id}", session: colleague));
        var images = new DiskImageService.DiskImageServiceClient(Zone.Server.Channel);
        Assert.Equal(StatusCode.PermissionDenied, await GrpcRefusalAsync(async () =>
            await images.DeleteDiskImageAsync(new DeleteDiskImageRequest { Id = id }, TestServer.Call(colleague))));
        Assert.Equal($"base{Suffix}", (await Rest.GetAsync($"/api/v1/disk_images/{id}", owner)).Data!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task APolicyGroup_IsChangedOnlyByItsOwner_NotByEveryHolderOfThePoliciesMenu()
    {
        var (owner, colleague, outsider) = await UsersAsync();
        var created = await Rest.PostAsync("/api/v1/security_policy_groups/", new { name = $"fw{Suffix}", enabled = true, default_action = "accept" }, owner);
        Assert.Equal(0, created.ErrorCode);
        var id = created.Data!["id"]!.GetValue<string>();

        foreach (var other in new[] { colleague, outsider })
        {
            JsonAssert.Failure(403, await Rest.PutAsync($"/api/v1/security_policy_groups/{id}", new { name = $"fw{Suffix}", default_action = "drop" }, other));
            JsonAssert.Failure(403, await Rest.PostAsync($"/api/v1/security_policy_groups/{id}/rules/",
                new { action = "accept", protocol = "tcp", to_port = 22 }, other));
            JsonAssert.Failure(403, await Rest.DeleteAsync($"/api/v1/security_policy_groups/{id}", session: other));
        }
        var policies = new SecurityPolicyGroupService.SecurityPolicyGroupServiceClient(Zone.Server.Channel);
        Assert.Equal(StatusCode.PermissionDenied, await GrpcRefusalAsync(async () =>
            await policies.DeleteSecurityPolicyGroupAsync(new DeleteSecurityPolicyGroupRequest { Id = id }, TestServer.Call(outsider))));

        JsonAssert.Success("[]", await Rest.GetAsync($"/api/v1/security_policy_groups/{id}/rules/", owner));
        Assert.Equal("accept", (await Rest.GetAsync($"/api/v1/security_policy_groups/{id}", owner)).Data!["default_action"]!.GetValue<string>());
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/security_policy_groups/{id}", session: owner));
    }

    [Fact]
    public async Task OnlyAUserAdministrator_CreatesInAnothersName()
    {
        var (owner, _, _) = await UsersAsync();
        var before = Agent.Commands.Count(c => c.CreateInstance is not null);
        var asAdmin = new { name = "forged", owner = "admin", pool = Pool, template = General, cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB } };
        JsonAssert.Failure(403, await Rest.PostAsync("/api/v1/guests/", asAdmin, owner));
        var intoAdminsGroup = new { name = "forged", group = "admin", pool = Pool, template = General, cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB } };
        JsonAssert.Failure(403, await Rest.PostAsync("/api/v1/guests/", intoAdminsGroup, owner));
        JsonAssert.Failure(403, await Rest.PostAsync("/api/v1/disk_images/", new { name = $"forged{Suffix}", owner = "admin" }, owner));
        JsonAssert.Failure(403, await Rest.PostAsync("/api/v1/media_images/", new { name = $"forged{Suffix}", group = "admin" }, owner));
        JsonAssert.Failure(403, await Rest.PostAsync("/api/v1/security_policy_groups/", new { name = $"forged{Suffix}", user = "admin", default_action = "accept" }, owner));
        var guests = new GuestService.GuestServiceClient(Zone.Server.Channel);
        Assert.Equal(StatusCode.PermissionDenied, await GrpcRefusalAsync(async () => await guests.CreateGuestAsync(new CreateGuestRequest
        {
            Name = "forged", Owner = "admin", Pool = Pool, Template = General, Cores = 1, Memory = 256 * MiB, Disks = { 1024 * MiB },
        }, TestServer.Call(owner))));
        Assert.Equal(before, Agent.Commands.Count(c => c.CreateInstance is not null));

        // Naming oneself is fine, and a user administrator may name anyone.
        var own = await Rest.PostAsync("/api/v1/disk_images/", new { name = $"own{Suffix}", owner = OwnerName, group = Team }, owner);
        Assert.Equal(0, own.ErrorCode);
        var forUser = await Rest.PostAsync("/api/v1/disk_images/", new { name = $"given{Suffix}", owner = OwnerName, group = Team }, Admin);
        Assert.Equal(0, forUser.ErrorCode);
        Assert.Equal(OwnerName, (await Rest.GetAsync($"/api/v1/disk_images/{forUser.Data!["id"]!.GetValue<string>()}", owner)).Data!["owner"]!.GetValue<string>());
    }
}
