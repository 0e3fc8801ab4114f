using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Roles #105-#109.</summary>
public sealed class RoleTests(InitializedServer fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task Role_CreateGetModifyDelete()
    {
        JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/roles/viewer", new { menu = new[] { "dashboard", "log" } }, Admin));
        JsonAssert.Success("""{"menu":["dashboard","log"]}""", await Rest.GetAsync("/api/v1/roles/viewer", Admin));
        Assert.Contains("viewer", (await Rest.GetAsync("/api/v1/roles/", Admin)).Data!.AsArray().Select(n => n!.GetValue<string>()));

        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/roles/viewer/", new { menu = new[] { "instance" } }, Admin));
        JsonAssert.Success("""{"menu":["instance"]}""", await Rest.GetAsync("/api/v1/roles/viewer/", Admin));

        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/roles/viewer", null, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/roles/viewer", Admin));
    }

    [Fact]
    public async Task RoleList_IsSorted()
    {
        foreach (var name in new[] { "zz_role", "aa_role", "mm_role" })
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/roles/{name}", new { menu = new[] { "log" } }, Admin)).ErrorCode);
        var names = (await Rest.GetAsync("/api/v1/roles/", Admin)).Data!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
    }

    [Fact]
    public async Task Role_Duplicate_Unknown_InUse_BadName()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/roles/dup_role", new { menu = new[] { "log" } }, Admin)).ErrorCode);
        JsonAssert.Failure(409, await Rest.PostAsync("/api/v1/roles/dup_role", new { menu = new[] { "user" } }, Admin));
        JsonAssert.Success("""{"menu":["log"]}""", await Rest.GetAsync("/api/v1/roles/dup_role", Admin));

        JsonAssert.Failure(404, await Rest.PutAsync("/api/v1/roles/no_such_role", new { menu = new[] { "log" } }, Admin));
        JsonAssert.Failure(404, await Rest.DeleteAsync("/api/v1/roles/no_such_role", null, Admin));

        Assert.Equal(0, (await Rest.PostAsync("/api/v1/user_groups/uses_role", new { role = new[] { "dup_role" } }, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.DeleteAsync("/api/v1/roles/dup_role", null, Admin));
        JsonAssert.Success("""{"menu":["log"]}""", await Rest.GetAsync("/api/v1/roles/dup_role", Admin));

        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/roles/bad.name", new { menu = new[] { "log" } }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/roles/okname", new { menu = new[] { "bad menu" } }, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/roles/okname", Admin));
    }
}
