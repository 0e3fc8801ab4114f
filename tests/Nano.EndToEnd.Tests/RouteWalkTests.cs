using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Nano.Libvirt;
using Nano.Testing;
using Xunit.Abstractions;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// Every one of the 131 documented routes, called once over REST on a live platform (server, two nano-cell agents,
/// libvirtd, KVM) with valid input, in an order where each finds what it needs: its HTTP status, error_code 0 and the
/// documented shape of its data (every listed field of every object, lists not empty) are checked, and a line per
/// route is written to route-walk.txt beside the test assembly.
/// </summary>
public sealed class RouteWalkTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Token = "e2e-walk-token";
    private const string Template = "0qodbfbd15imbt3g0004";
    private const long MiB = 1L << 20;
    private static readonly string[] Usage =
        ["cpu_usage", "max_cpu", "available_memory", "max_memory", "available_disk", "max_disk", "read_speed", "write_speed", "receive_speed", "send_speed"];
    private static readonly string[] GuestFields =
    [
        "id", "name", "created", "progress", "running", "owner", "group", "pool", "cell", "host", "cores", "memory", "total_disk", "disks",
        "auto_start", "system", "ethernet_address", "display_protocol", "internal", "create_time", "qos",
    ];
    private static readonly string[] ImageFields = ["id", "name", "owner", "group", "description", "tags", "created", "progress", "create_time", "modify_time", "size"];

    private readonly string _work = Directory.CreateTempSubdirectory("nano-e2e-walk-").FullName;
    private readonly string _cell = $"walk-{Guid.NewGuid():N}"[..15];
    private readonly List<string> _report = [];
    private readonly List<string> _failures = [];
    private readonly Dictionary<int, (string Method, string Path)> _documented = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "documented-routes.txt"))
        .Where(l => l.Length > 0 && !l.StartsWith('#'))
        .Select(l => l.Split(' '))
        .ToDictionary(p => int.Parse(p[0]), p => (p[1], p[2]));
    private InitializedServer _zone = null!;
    private readonly List<AgentProcess> _agents = [];

    private RestClient Rest => _zone.Rest;
    private string Admin => _zone.AdminSession;
    private string Spare => $"{_cell}-u";

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists("/var/run/libvirt/libvirt-sock"), "libvirtd is not running: run the suite through ./tools/test, which starts it");
        _zone = new AgentZone(Token);
        await _zone.InitializeAsync();
        try
        {
            _agents.Add(StartAgent(_cell));
            _agents.Add(StartAgent(Spare));
            await WaitForAsync(async () => (await Rest.GetAsync("/api/v1/compute_pool_cells/", Admin)).Data!.AsArray().Count(c => c!["name"]!.GetValue<string>().StartsWith(_cell, StringComparison.Ordinal)) == 2);
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/default/{_cell}", null, Admin)).ErrorCode);
            await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/default/{_cell}", Admin)).Data!["available_memory"]!.GetValue<long>() > 0);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
            await agent.DisposeAsync();
        await _zone.DisposeAsync();
        LeftoverDomains.Remove(_cell);
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task EveryDocumentedRoute_AnswersWithItsDocumentedShape_OnALivePlatform()
    {
        try
        {
            await SessionsAndAccessAsync();
            await ZoneAsync();
            var (media, disk, group) = await ImagesTemplatesAndPoliciesAsync();
            var guest = await GuestAsync(disk, group);
            await InstanceAsync(guest, media);
            await MigrationAndBatchesAsync(guest);
            await CleanUpAsync(media, disk, group);
        }
        finally
        {
            var report = string.Join('\n', _report.OrderBy(l => int.Parse(l[1..4]))) + "\n";
            File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "route-walk.txt"), report);
            output.WriteLine(report);
        }
        Assert.Empty(_documented.Keys.Except(_report.Select(l => int.Parse(l[1..4]))));
        Assert.True(_failures.Count == 0, string.Join('\n', _failures));
    }

    private async Task SessionsAndAccessAsync()
    {
        var login = await CheckAsync(124, "POST", "/sessions/", new { user = InitializedServer.AdminName, password = InitializedServer.AdminPassword, nonce = "walk" },
            Object("LoginResult", "session", "timeout", "group", "menu"), session: null);
        var session = login.Data!["session"]!.GetValue<string>();
        await CheckAsync(126, "GET", $"/sessions/{session}", null, Object("SessionInfo", "user", "group", "address", "menu", "resource", "timeout"));
        await CheckAsync(125, "PUT", $"/sessions/{session}", null, Empty, session: session);
        await CheckAsync(127, "GET", "/resource_visibilities/", null, Object("Visibility", "instance_visible", "disk_image_visible", "media_image_visible"));
        await CheckAsync(128, "PUT", "/resource_visibilities/", new { instance_visible = true, disk_image_visible = true, media_image_visible = true }, Empty);

        await CheckAsync(107, "POST", "/roles/walker", new { menu = new[] { "instance" } }, Empty);
        await CheckAsync(105, "GET", "/roles/", null, Strings);
        await CheckAsync(106, "GET", "/roles/walker", null, Object("Role", "menu"));
        await CheckAsync(108, "PUT", "/roles/walker", new { menu = new[] { "instance", "log" } }, Empty);
        await CheckAsync(112, "POST", "/user_groups/walkers", new { display = "Walkers", role = new[] { "walker" } }, Empty);
        await CheckAsync(110, "GET", "/user_groups/", null, ListOf("GroupSummary", "name", "display", "member"));
        await CheckAsync(120, "POST", "/users/wanda", new { password = "Wand4Password", nick = "Wanda", mail = "wanda@example.org" }, Empty);
        await CheckAsync(118, "GET", "/users/", null, Strings);
        await CheckAsync(119, "GET", "/users/wanda", null, Object("User", "name", "nick", "mail"));
        await CheckAsync(121, "PUT", "/users/wanda", new { nick = "W" }, Empty);
        await CheckAsync(116, "POST", "/user_groups/walkers/members/wanda", null, Empty);
        await CheckAsync(115, "GET", "/user_groups/members/?group=walkers", null, Strings);
        await CheckAsync(111, "GET", "/user_groups/walkers", null, Object("Group", "name", "display", "role", "member"));
        await CheckAsync(113, "PUT", "/user_groups/walkers", new { display = "Walkers!", role = new[] { "walker" } }, Empty);
        var wanda = (await Rest.PostAsync("/api/v1/sessions/", new { user = "wanda", password = "Wand4Password", nonce = "" })).Data!["session"]!.GetValue<string>();
        await CheckAsync(123, "PUT", "/users/wanda/password/", new { old = "Wand4Password", @new = "Wand4NewPassword" }, Empty, session: wanda);

        await CheckAsync(130, "POST", "/logs/", new { content = "route walk" }, Empty);
        var logs = await CheckAsync(129, "GET", "/logs/?limit=5", null, Object("LogQueryResult", "logs", "total"));
        await CheckAsync(131, "DELETE", "/logs/", new { entries = new[] { logs.Data!["logs"]![0]!["id"]!.GetValue<string>() } }, Empty);
    }

    private async Task ZoneAsync()
    {
        var shared = Directory.CreateDirectory(Path.Combine(_work, "shared")).FullName;
        var other = Directory.CreateDirectory(Path.Combine(_work, "shared2")).FullName;
        await CheckAsync(14, "POST", "/storage_pools/ws", new { type = "shared", target = other }, Empty);
        await CheckAsync(12, "GET", "/storage_pools/", null, ListOf("StoragePool", "name", "type", "host", "target"));
        await CheckAsync(13, "GET", "/storage_pools/ws", null, Object("StoragePool", "type", "host", "target"));
        await CheckAsync(15, "PUT", "/storage_pools/ws", new { type = "shared", target = shared }, Empty);
        await CheckAsync(3, "POST", "/compute_pools/wp", new { }, Empty);
        await CheckAsync(1, "GET", "/compute_pools/", null, ListOf("ComputePool", "name", "enabled", "cells", "storage", "network", "failover"));
        await CheckAsync(2, "GET", "/compute_pools/wp", null, Object("ComputePool", "name", "enabled", "cells", "storage", "network", "failover"));
        await CheckAsync(5, "PUT", "/compute_pools/wp", new { storage = "ws", failover = true }, Empty);

        await CheckAsync(28, "POST", "/address_pools/wa", new { gateway = "192.168.250.1", provider = "dhcp", dns = new[] { "192.168.250.1" } }, Empty);
        await CheckAsync(33, "POST", "/address_pools/ranges/192.168.250.10?pool=wa", new { end = "192.168.250.20", netmask = "255.255.255.0" }, Empty);
        await CheckAsync(26, "GET", "/address_pools/", null, ListOf("AddressPoolSummary", "name", "gateway", "provider", "mode", "addresses", "allocated"));
        await CheckAsync(27, "GET", "/address_pools/wa", null, Object("AddressPool", "name", "gateway", "provider", "mode", "ranges", "allocated"));
        await CheckAsync(29, "PUT", "/address_pools/wa", new { gateway = "192.168.250.1", provider = "dhcp", dns = new[] { "192.168.250.2" } }, Empty);
        await CheckAsync(31, "GET", "/address_pools/wa/internal/ranges/", null, ListOf("AddressRange", "start", "end", "netmask", "type"));
        await CheckAsync(32, "GET", "/address_pools/ranges/192.168.250.10", null, Object("AddressRangeStatus", "start", "end", "netmask", "capacity", "allocated"));
        await CheckAsync(34, "DELETE", "/address_pools/ranges/192.168.250.10", null, Empty);
        await CheckAsync(30, "DELETE", "/address_pools/wa", null, Empty);

        await CheckAsync(6, "GET", "/compute_pool_cells/", null, ListOf("Cell", "name", "address", "enabled", "alive"));
        await CheckAsync(7, "GET", "/compute_pool_cells/default", null, ListOf("Cell", "name", "address", "enabled", "alive"));
        await CheckAsync(8, "POST", $"/compute_pool_cells/wp/{Spare}", null, Empty); // the agent attaches the shared folder
        await CheckAsync(10, "PUT", $"/compute_pool_cells/wp/{Spare}", new { enable = false }, Empty);
        await CheckAsync(11, "GET", $"/compute_pool_cells/wp/{Spare}", null, Object("CellDetail", "name", "address", "enabled", "alive"));
        await CheckAsync(9, "DELETE", $"/compute_pool_cells/wp/{Spare}", null, Empty);
        await CheckAsync(4, "DELETE", "/compute_pools/wp", null, Empty);
        await CheckAsync(16, "DELETE", "/storage_pools/ws", null, Empty);

        await CheckAsync(17, "GET", "/compute_zone_status/", null, Object("ZoneStatus", ["name", "pools", "cells", "instances", "start_time", .. Usage]));
        await CheckAsync(18, "GET", "/compute_pool_status/", null, ListOf("PoolStatus", ["name", "enabled", "cells", "instances", .. Usage]));
        await CheckAsync(19, "GET", "/compute_pool_status/default", null, Object("PoolStatus", ["name", "enabled", "cells", "instances", .. Usage]));
        await CheckAsync(20, "GET", "/compute_cell_status/default", null, ListOf("CellStatus", ["name", "address", "enabled", "alive", "instances", .. Usage]));
        await CheckAsync(21, "GET", $"/compute_cell_status/{_cell}", null, Object("CellStatus", ["name", "address", "enabled", "alive", "instances", .. Usage]));
        await CheckAsync(22, "GET", $"/compute_cell_status/default/{_cell}/storages/", null, Object("CellStorages", "mode", "system", "data"));
        await CheckAsync(23, "PUT", $"/compute_cell_status/default/{_cell}/storages/", new { @default = Path.Combine(_work, "volumes-moved") }, Empty);
    }

    private async Task<(string Media, string Disk, string Group)> ImagesTemplatesAndPoliciesAsync()
    {
        var isoFolder = Directory.CreateDirectory(Path.Combine(_work, "iso")).FullName;
        File.WriteAllText(Path.Combine(isoFolder, "hello.txt"), "hello");
        var iso = Path.Combine(_work, "walk.iso");
        Run("genisoimage", "-quiet", "-o", iso, "-V", "WALK", isoFolder);
        var media = (await CheckAsync(71, "POST", "/media_images/", new { name = "walk.iso", description = "walk" }, Object("{id}", "id"))).Data!["id"]!.GetValue<string>();
        await UploadCheckAsync(75, $"/media_image_files/{media}", iso);
        await CheckAsync(69, "GET", "/media_images/", null, ListOf("ImageSummary", "id", "name", "size"));
        await CheckAsync(70, "GET", $"/media_images/{media}", null, Object("MediaImage", ImageFields));
        await CheckAsync(72, "PUT", $"/media_images/{media}", new { description = "walked" }, Empty);
        await DownloadCheckAsync(74, $"/media_image_files/{media}", new FileInfo(iso).Length);
        await CheckAsync(68, "PATCH", "/media_images/", new { }, Empty);

        var qcow2 = Path.Combine(_work, "walk-base.qcow2");
        Run("qemu-img", "create", "-q", "-f", "qcow2", qcow2, "128M");
        Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x66 0 2M", qcow2);
        var disk = (await CheckAsync(78, "POST", "/disk_images/", new { name = "walk-base", description = "walk" }, Object("{id}", "id"))).Data!["id"]!.GetValue<string>();
        await UploadCheckAsync(81, $"/disk_image_files/{disk}", qcow2);
        await CheckAsync(76, "PATCH", "/disk_images/", new { }, Empty);
        await CheckAsync(77, "GET", $"/disk_images/{disk}", null, Object("DiskImage", ImageFields));
        await CheckAsync(79, "PUT", $"/disk_images/{disk}", new { description = "walked" }, Empty);

        var config = new { name = "Walk 1", admin = "walker", operating_system = "linux", disk = "sata", network = "virtio", display = "vga", control = "vnc", usb = "", tablet = "usb" };
        var template = (await CheckAsync(84, "POST", "/templates/", config, Object("{id}", "id"))).Data!["id"]!.GetValue<string>();
        await CheckAsync(82, "GET", "/templates/", null, ListOf("TemplateSummary", "id", "name", "operating_system", "created_time", "modified_time"));
        await CheckAsync(83, "GET", $"/templates/{template}", null,
            Object("Template", "id", "name", "admin", "operating_system", "disk", "network", "display", "control", "usb", "tablet", "created_time", "modified_time"));
        await CheckAsync(85, "PUT", $"/templates/{template}", config with { name = "Walk 2" }, Empty);
        await CheckAsync(86, "DELETE", $"/templates/{template}", null, Empty);

        var group = (await CheckAsync(88, "POST", "/security_policy_groups/", new { name = "walk-fw", enabled = true, global = true, default_action = "reject" }, Object("{id}", "id")))
            .Data!["id"]!.GetValue<string>();
        await CheckAsync(87, "GET", $"/security_policy_groups/{group}", null, Object("SecurityPolicyGroup", "id", "name", "user", "group", "enabled", "global", "default_action"));
        await CheckAsync(89, "PUT", $"/security_policy_groups/{group}", new { name = "walk-fw", description = "walk", enabled = true, global = true, default_action = "reject" }, Empty);
        await CheckAsync(92, "POST", $"/security_policy_groups/{group}/rules/", new { action = "accept", protocol = "tcp", to_port = 22 }, Empty);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/security_policy_groups/{group}/rules/", new { action = "accept", protocol = "icmp" }, Admin)).ErrorCode);
        await CheckAsync(91, "GET", $"/security_policy_groups/{group}/rules/", null, ListOf("SecurityRule", "action", "protocol", "from_address", "to_port", "interface"));
        await CheckAsync(93, "PUT", $"/security_policy_groups/{group}/rules/0", new { action = "accept", protocol = "tcp", to_port = 2222 }, Empty);
        await CheckAsync(94, "PUT", $"/security_policy_groups/{group}/rules/1/order", new { direction = "up" }, Empty);
        await CheckAsync(95, "DELETE", $"/security_policy_groups/{group}/rules/1", null, Empty);
        return (media, disk, group);
    }

    private async Task<string> GuestAsync(string disk, string group)
    {
        var id = (await CheckAsync(37, "POST", "/guests/", new
        {
            name = "walker", pool = "default", template = Template, cores = 1, memory = 64 * MiB, disks = new[] { 256 * MiB, 64 * MiB },
            from_image = disk, modules = new[] { "qemu" }, security_policy_group = group,
        }, Object("{id}", "id"), HttpStatusCode.Accepted)).Data!["id"]!.GetValue<string>();
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data?["created"]?.GetValue<bool>() == true);
        await CheckAsync(36, "GET", $"/guests/{id}", null, Object("Guest", GuestFields));
        await CheckAsync(35, "GET", "/guest_search/?pool=default", null, ListOf("Guest", GuestFields));
        await CheckAsync(24, "GET", "/instance_status/default/", null, ListOf("Guest", GuestFields));
        await CheckAsync(25, "GET", $"/instance_status/{_cell}/", null, ListOf("Guest", GuestFields));
        await CheckAsync(39, "PUT", $"/guests/{id}/auto_start", new { enable = true }, Empty);
        await CheckAsync(40, "PUT", $"/guests/{id}/cores", new { cores = 2 }, Empty);
        await CheckAsync(41, "PUT", $"/guests/{id}/memory", new { memory = 96 * MiB }, Empty);
        await CheckAsync(42, "PUT", $"/guests/{id}/disks/resize/1", new { size = 128 * MiB }, Empty);
        await CheckAsync(43, "PUT", $"/guests/{id}/disks/shrink/1", new { }, Empty);
        await CheckAsync(47, "PUT", $"/guests/{id}/name/", new { name = "walker2" }, Empty);
        await CheckAsync(48, "PUT", $"/guests/{id}/qos/cpu/", new { priority = "medium" }, Empty);
        await CheckAsync(49, "PUT", $"/guests/{id}/qos/disk/", new { read_speed = 50 * MiB, write_iops = 500 }, Empty);
        await CheckAsync(50, "PUT", $"/guests/{id}/qos/network/", new { receive_speed = 10 * MiB, send_speed = 10 * MiB }, Empty);
        await CheckAsync(46, "GET", $"/guests/{id}/auth", null, Object("GuestAuth", "user", "password"));

        await CheckAsync(51, "GET", $"/guests/{id}/security_policy/", null, Object("GuestSecurityPolicy", "default_action", "rules"));
        await CheckAsync(52, "PUT", $"/guests/{id}/security_policy/default_action", new { action = "accept" }, Empty);
        await CheckAsync(53, "POST", $"/guests/{id}/security_policy/rules/", new { action = "accept", protocol = "udp", to_port = 53 }, Empty);
        await CheckAsync(54, "PUT", $"/guests/security_policy/rules/0?guest={id}", new { action = "reject", protocol = "tcp", to_port = 80 }, Empty);
        await CheckAsync(55, "PUT", "/guests/security_policy/rules/0/order", new { guest = id, direction = "down" }, Empty);
        await CheckAsync(56, "DELETE", $"/guests/security_policy/rules/1?guest={id}", null, Empty);

        var snapshots = $"/instances/{id}/snapshots/";
        await CheckAsync(63, "POST", snapshots, new { name = "s1", description = "walk" }, Empty);
        await CheckAsync(62, "GET", snapshots, null, MapOf("SnapshotNode", "is_root", "is_current", "backing"));
        await CheckAsync(65, "GET", $"{snapshots}s1", null, Object("Snapshot", "running", "description", "create_time"));
        await CheckAsync(64, "PUT", snapshots, new { target = "s1" }, Empty);
        await CheckAsync(66, "DELETE", $"{snapshots}s1", null, Empty);
        await CheckAsync(44, "PUT", $"/guests/{id}/system/", new { from_image = disk }, Empty);
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data?["created"]?.GetValue<bool>() == true);
        return id;
    }

    private async Task InstanceAsync(string id, string media)
    {
        await CheckAsync(58, "POST", $"/instances/{id}", new { }, Empty);
        await CheckAsync(57, "GET", $"/instances/{id}", null,
            Object("InstanceStatus", [.. GuestFields, "cpu_usage", "memory_available", "disk_available", "bytes_read", "bytes_written", "bytes_received", "bytes_sent", "media_attached"]));
        await CheckAsync(60, "POST", $"/instances/{id}/media", new { source = media }, Empty);
        await CheckAsync(61, "DELETE", $"/instances/{id}/media", null, Empty);
        await CheckAsync(67, "POST", "/monitor_channels/", new { guest = id }, Object("MonitorToken", "id", "protocol", "username", "password"));
        // The guest runs no operating system, so no QEMU guest agent answers inside it: the documented refusal.
        await CheckAsync(45, "PUT", $"/guests/{id}/auth", new { password = "N3w-pass" }, Refused(412, "agent"));
        await CheckAsync(59, "DELETE", $"/instances/{id}", new { force = true }, Empty);
    }

    private async Task MigrationAndBatchesAsync(string id)
    {
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/default/{Spare}", null, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/compute_pool_cells/default/{Spare}", new { enable = true }, Admin)).ErrorCode); // #10 disabled it
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/default/{Spare}", Admin)).Data!["available_memory"]!.GetValue<long>() > 0);
        var migration = (await CheckAsync(96, "POST", "/migrations/", new { source_pool = "default", source_cell = _cell, target_cell = Spare, instances = new[] { id } },
            Object("{id}", "id"), HttpStatusCode.Accepted)).Data!["id"]!.GetValue<string>();
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["cell"]!.GetValue<string>() == Spare);
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/operations/{migration}", Admin)).Data?["state"]?.GetValue<string>() == "succeeded");
        var listed = await CheckAsync(98, "GET", "/migrations/", null, ListOf("Migration", "id", "finished"));
        Assert.Contains(migration, listed.Text);
        // A finished migration is returned once, by either route: #97 reads a second one, back to the first cell.
        var back = (await Rest.PostAsync("/api/v1/migrations/", new { source_pool = "default", source_cell = Spare, target_cell = _cell, instances = new[] { id } }, Admin))
            .Data!["id"]!.GetValue<string>();
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/operations/{back}", Admin)).Data?["state"]?.GetValue<string>() == "succeeded");
        await CheckAsync(97, "GET", $"/migrations/{back}", null, Object("MigrationStatus", "finished", "progress", "error"));

        var batch = (await CheckAsync(99, "POST", "/batch/create_guest/", new
        {
            name_rule = "order", name_prefix = "wb", count = 2, pool = "default", template = Template, cores = 1, memory = 64 * MiB, disks = new[] { 256 * MiB }, auto_start = true,
        }, Object("{id}", "id"), HttpStatusCode.Accepted)).Data!["id"]!.GetValue<string>();
        var created = await WaitBatchAsync("create_guest", batch);
        await CheckAsync(100, "GET", $"/batch/create_guest/{batch}", null, ListOf("BatchCreateItem", "name", "id", "status", "progress"));
        var ids = created.Select(i => i!["id"]!.GetValue<string>()).ToArray();
        var stop = (await CheckAsync(103, "POST", "/batch/stop_guest/", new { guest = ids, force = true }, Object("{id}", "id"), HttpStatusCode.Accepted)).Data!["id"]!.GetValue<string>();
        await WaitBatchAsync("stop_guest", stop);
        await CheckAsync(104, "GET", $"/batch/stop_guest/{stop}", null, ListOf("BatchItem", "id", "status"));
        var delete = (await CheckAsync(101, "POST", "/batch/delete_guest/", new { guest = ids }, Object("{id}", "id"), HttpStatusCode.Accepted)).Data!["id"]!.GetValue<string>();
        await WaitBatchAsync("delete_guest", delete);
        await CheckAsync(102, "GET", $"/batch/delete_guest/{delete}", null, ListOf("BatchItem", "id", "status"));
        await CheckAsync(38, "DELETE", $"/guests/{id}", null, Empty);
    }

    private async Task CleanUpAsync(string media, string disk, string group)
    {
        await CheckAsync(73, "DELETE", $"/media_images/{media}", null, Empty);
        await CheckAsync(80, "DELETE", $"/disk_images/{disk}", null, Empty);
        await CheckAsync(90, "DELETE", $"/security_policy_groups/{group}", null, Empty);
        await CheckAsync(117, "DELETE", "/user_groups/walkers/members/wanda", null, Empty);
        await CheckAsync(114, "DELETE", "/user_groups/walkers", null, Empty);
        await CheckAsync(122, "DELETE", "/users/wanda", null, Empty);
        await CheckAsync(109, "DELETE", "/roles/walker", null, Empty);
    }

    /// <summary>Waits until every item of a batch is done; returns the items.</summary>
    private async Task<JsonArray> WaitBatchAsync(string kind, string id)
    {
        RestAnswer answer = null!;
        await WaitForAsync(async () => (answer = await Rest.GetAsync($"/api/v1/batch/{kind}/{id}", Admin)).Status == HttpStatusCode.OK);
        var items = answer.Data!.AsArray();
        Assert.All(items, i => Assert.True(i!["status"]!.GetValue<string>() is "created" or "stopped" or "deleted", i.ToJsonString()));
        return items;
    }

    /// <summary>Calls one documented route (as documented, or at the equivalent the server also serves, docs/api-decisions.md) and records what it answered.</summary>
    private async Task<RestAnswer> CheckAsync(int route, string method, string path, object? body, Shape shape, HttpStatusCode status = HttpStatusCode.OK,
        string? session = "")
    {
        var answer = await Rest.SendAsync(new HttpMethod(method), $"/api/v1{path}", body, session == "" ? Admin : session);
        var problems = new List<string>();
        if (shape.ErrorCode == 0 && answer.ErrorCode != 0)
            problems.Add($"error_code {answer.ErrorCode}: {answer.Message}");
        if (answer.Status != status)
            problems.Add($"HTTP {(int)answer.Status}, expected {(int)status}");
        problems.AddRange(shape.Problems(answer));
        Record(route, method, path, $"HTTP {(int)answer.Status}, error_code {answer.ErrorCode}, data {shape.Name}", problems);
        return answer;
    }

    private async Task UploadCheckAsync(int route, string path, string file)
    {
        await using var content = File.OpenRead(file);
        var answer = await Rest.UploadAsync($"/api/v1{path}", content, null, Admin);
        var problems = answer.ErrorCode == 0 && answer.Status == HttpStatusCode.OK ? Empty.Problems(answer).ToList() : [$"HTTP {(int)answer.Status}, error_code {answer.ErrorCode}: {answer.Message}"];
        Record(route, "POST", path, $"HTTP {(int)answer.Status}, error_code {answer.ErrorCode}, data \"\" (multipart upload of {new FileInfo(file).Length} bytes)", problems);
    }

    private async Task DownloadCheckAsync(int route, string path, long size)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1{path}");
        request.Headers.Add("Nano-Session", Admin);
        using var response = await Rest.Http.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var type = response.Content.Headers.ContentType?.MediaType;
        var problems = new List<string>();
        if (response.StatusCode != HttpStatusCode.OK || type != "application/octet-stream" || bytes.Length != size)
            problems.Add($"HTTP {(int)response.StatusCode}, {type}, {bytes.Length} bytes; expected 200, application/octet-stream, {size} bytes");
        Record(route, "GET", path, $"HTTP {(int)response.StatusCode}, {type}, {bytes.Length} bytes", problems);
    }

    private void Record(int route, string method, string path, string answered, List<string> problems)
    {
        var (documentedMethod, documentedPath) = _documented[route];
        if (documentedMethod != method)
            problems.Add($"documented as {documentedMethod}");
        if (_report.Any(l => int.Parse(l[1..4]) == route))
            problems.Add("walked twice");
        var line = $"#{route,-3} {method,-6} {documentedPath,-50} called {path[..Math.Min(path.Length, 60)],-60} {answered}: {(problems.Count == 0 ? "ok" : "FAIL " + string.Join("; ", problems))}";
        _report.Add(line);
        if (problems.Count > 0)
            _failures.Add(line);
    }

    /// <summary>What a route's data must look like.</summary>
    private sealed record Shape(string Name, Func<RestAnswer, IEnumerable<string>> Problems, int ErrorCode = 0);

    private static readonly Shape Empty = new("\"\"", a => a.Data is JsonValue v && v.TryGetValue<string>(out var s) && s == "" ? [] : [$"data is {a.Data?.ToJsonString()}"]);

    private static readonly Shape Strings = new("[str]", a => a.Data is JsonArray { Count: > 0 } list && list.All(e => e is JsonValue v && v.TryGetValue<string>(out _))
        ? [] : [$"data is {a.Data?.ToJsonString()}"]);

    private static IEnumerable<string> Fields(string name, JsonNode? node, string[] fields) =>
        node is JsonObject o ? fields.Where(f => !o.ContainsKey(f)).Select(f => $"{name} without '{f}'") : [$"{name} is {node?.ToJsonString() ?? "missing"}"];

    private static Shape Object(string name, params string[] fields) => new(name, a => Fields(name, a.Data, fields));

    private static Shape ListOf(string name, params string[] fields) => new($"[{name}]", a => a.Data is JsonArray { Count: > 0 } list
        ? list.SelectMany(e => Fields(name, e, fields)).Distinct()
        : [$"data is {a.Data?.ToJsonString()} (a non-empty list expected)"]);

    private static Shape MapOf(string name, params string[] fields) => new($"{{name: {name}}}", a => a.Data is JsonObject { Count: > 0 } map
        ? map.SelectMany(e => Fields(name, e.Value, fields)).Distinct()
        : [$"data is {a.Data?.ToJsonString()} (a non-empty map expected)"]);

    /// <summary>A documented refusal: the envelope with <paramref name="code"/> and a message naming <paramref name="reason"/>.</summary>
    private static Shape Refused(int code, string reason) => new($"refused {code} ({reason})", a =>
        a.ErrorCode == code && a.Message.Contains(reason, StringComparison.OrdinalIgnoreCase) && a.Data is JsonValue v && v.TryGetValue<string>(out var s) && s == ""
            ? [] : [$"answered {a.ErrorCode}: {a.Message}"], code);

    private AgentProcess StartAgent(string name) => AgentProcess.Start("--server", _zone.Server.GrpcUrl, "--ca-file", _zone.Server.CaFile!, "--token", Token, "--name", name,
        "--address", "127.0.0.1", "--libvirt-uri", "qemu:///system", "--storage-path", Path.Combine(_work, $"images-{name}"),
        "--mount-root", Path.Combine(_work, $"mounts-{name}"), "--state-file", Path.Combine(_work, $"{name}.json"));

    private static void Run(string program, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true })!;
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program}: {errors}");
    }

    private static Task WaitForAsync(Func<Task<bool>> condition) => Wait.ForAsync(condition, TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(250));
}
