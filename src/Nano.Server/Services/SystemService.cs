using System.Net;
using System.Reflection;
using Nano.Server.Cells;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Http;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>
/// First-run check and initialisation (upstream B1), callable without a session. The first run comes from the server's
/// own host (loopback), or from anywhere with the one-time <see cref="FirstRunToken"/> the server printed at start: a
/// new server on the network is not the first visitor's.
/// </summary>
public sealed class SystemService(UserRepository users, SystemRepository system, FirstRunToken token, IOptions<NanoOptions> options)
    : Contracts.V1.SystemService.SystemServiceBase
{
    public const string DefaultGroup = "admin";
    public const string DefaultDisplay = "Adminitrators of Nano Portal";
    public const string DefaultRole = "super";

    /// <summary>This build's version ("0.15.0+commit").</summary>
    public static readonly string ServerVersion =
        typeof(SystemService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public override async Task<GetSystemStatusResponse> GetSystemStatus(GetSystemStatusRequest request, ServerCallContext context) => new()
    {
        Data = new SystemStatus
        {
            Ready = await users.AnyAsync(),
            MaxCores = options.Value.MaxCores,
            MaxMemory = options.Value.MaxMemoryGb,
            MaxDisk = options.Value.MaxDiskGb,
            Version = ServerVersion,
            CellProtocols = { CellGateway.ProtocolVersion },
            RestPort = options.Value.RestPort,
        },
    };

    public override async Task<InitializeSystemResponse> InitializeSystem(InitializeSystemRequest request, ServerCallContext context)
    {
        var http = context.GetHttpContext();
        var client = ClientAddress.Of(http, options.Value.TrustedProxyList);
        if (!(IPAddress.TryParse(client, out var address) && IPAddress.IsLoopback(address)) && !token.Matches(http.Request.Headers[FirstRunToken.Header]))
            throw Fail.Denied($"the first run is taken from the server's own host only, or with the setup token it printed when it started (header {FirstRunToken.Header})");
        var user = IdentityRules.Name("user", request.User);
        var password = IdentityRules.Password(request.Password);
        var menu = IdentityRules.Menu(request.Menu, required: true);
        var group = IdentityRules.Name("user group", Or(request.Group, DefaultGroup));
        var role = IdentityRules.Name("role", Or(request.Role, DefaultRole));
        var display = IdentityRules.Text("display", Or(request.Display, DefaultDisplay));
        if (group == IdentityRules.ReservedGroupName)
            throw Fail.Invalid($"user group name '{group}' is reserved");
        await system.InitializeAsync(role, menu, group, display, user, PasswordHasher.Hash(password))
            .OrFail(inUse: "the system is already initialised");
        return new InitializeSystemResponse();
    }

    private static string Or(string value, string fallback) => string.IsNullOrEmpty(value) ? fallback : value;
}
