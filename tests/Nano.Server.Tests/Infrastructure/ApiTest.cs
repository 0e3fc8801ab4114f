using Nano.Testing;
namespace Nano.Server.Tests.Infrastructure;

/// <summary>A test class against one <see cref="InitializedServer"/>, called as its administrator.</summary>
public abstract class ApiTest(InitializedServer fixture) : IClassFixture<InitializedServer>
{
    protected InitializedServer Fixture => fixture;

    protected RestClient Rest => fixture.Rest;

    protected string Admin => fixture.AdminSession;
}
