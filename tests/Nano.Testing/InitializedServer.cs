namespace Nano.Testing;

/// <summary>
/// A server on its own database, initialised through POST /system/ with an administrator who has
/// every menu, and logged in. One per test class (xunit class fixture).
/// </summary>
public class InitializedServer : IAsyncLifetime
{
    private readonly IReadOnlyDictionary<string, string?>? _settings;

    public InitializedServer()
    {
    }

    protected InitializedServer(IReadOnlyDictionary<string, string?> settings) => _settings = settings;

    public const string AdminName = "admin";
    public const string AdminPassword = "Adm1nPassword";
    public static readonly string[] AllMenus =
        ["dashboard", "compute_pool", "address_pool", "storage_pool", "instance", "image", "media", "templates", "policies", "user", "log", "visibility"];

    private TestServer? _server;

    public TestServer Server => _server ?? throw new InvalidOperationException("not started");

    public RestClient Rest => Server.Rest;

    public string AdminSession { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(settings: _settings);
        AdminSession = await _server.FirstRunAsync(AllMenus);
    }

    public async Task<string> LoginAsync(string user, string password)
    {
        var login = await Rest.PostAsync("/api/v1/sessions/", new { user, password, nonce = "test" });
        Assert.True(login.ErrorCode == 0, login.Text);
        return login.Data!["session"]!.GetValue<string>();
    }

    /// <summary>Creates a role with <paramref name="menus"/>, a group with that role, a member user, and logs it in.</summary>
    public async Task<string> UserWithMenusAsync(string prefix, params string[] menus)
    {
        var role = $"{prefix}_role";
        var group = $"{prefix}_group";
        var user = $"{prefix}_user";
        const string password = "Us3rPassword";
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/roles/{role}", new { menu = menus }, AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/user_groups/{group}", new { display = prefix, role = new[] { role } }, AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/users/{user}", new { password }, AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/user_groups/{group}/members/{user}", null, AdminSession)).ErrorCode);
        return await LoginAsync(user, password);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}
