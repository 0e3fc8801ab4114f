using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Nano.Server.Domain;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>The server starts with every service mapped; reflection and health answer on the gRPC port.</summary>
public sealed class StartupTests(InitializedServer fixture) : IClassFixture<InitializedServer>
{
    [Fact]
    public void EveryHttpRule_IsMappedAsAnEndpoint()
    {
        var endpoints = fixture.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (m, e.RoutePattern.RawText)))
            .ToHashSet();
        var unmapped = ContractTests.AllRules
            .Where(r => !endpoints.Contains((r.Method, r.Template)))
            .Select(r => $"{r.Method} {r.Template}")
            .ToList();
        Assert.Empty(unmapped);
    }

    [Fact]
    public void EveryPublicService_IsMappedForGrpc()
    {
        var endpoints = fixture.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>().Select(e => e.RoutePattern.RawText).ToHashSet();
        var unmapped = ApiCatalog.Methods.Values.Where(m => !endpoints.Contains(m.Path)).Select(m => m.Path).ToList();
        Assert.Empty(unmapped);
    }

    [Fact]
    public async Task Reflection_ListsEveryPublicService()
    {
        var client = new ServerReflection.ServerReflectionClient(fixture.Server.Channel);
        using var call = client.ServerReflectionInfo(TestServer.Call());
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var listed = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToHashSet();
        Assert.All(ApiCatalog.Services, s => Assert.Contains(s.FullName, listed));
        Assert.Contains("grpc.health.v1.Health", listed);
    }

    [Fact]
    public async Task Health_IsServingWhileTheDatabaseAnswers()
    {
        var client = new Health.HealthClient(fixture.Server.Channel);
        var deadline = DateTime.UtcNow + TestServer.Deadline;
        HealthCheckResponse.Types.ServingStatus status;
        do
        {
            status = (await client.CheckAsync(new HealthCheckRequest(), TestServer.Call())).Status;
            if (status == HealthCheckResponse.Types.ServingStatus.Serving)
                break;
            await Task.Delay(100);
        } while (DateTime.UtcNow < deadline);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, status);
    }
}
