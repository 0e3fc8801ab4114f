using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>User groups and members #110-#117.</summary>
public sealed class UserGroupTests(InitializedServer fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task Group_CreateGetModifyDelete()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/roles/g_role1", new { menu = new[] { "log" } }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/roles/g_role2", new { menu = new[] { "user" } }, Admin)).ErrorCode);
        JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/user_groups/devs", new { display = "Developers", role = new[] { "g_role2", "g_role1" } }, Admin));
        JsonAssert.Success("""{"name":"devs","display":"Developers","role":["g_role1","g_role2"],"member":[]}""", await Rest.GetAsync("/api/v1/user_groups/devs", Admin));

        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/user_groups/devs", new { role = new[] { "g_role1" } }, Admin));
        JsonAssert.Success("""{"name":"devs","display":"","role":["g_role1"],"member":[]}""", await Rest.GetAsync("/api/v1/user_groups/devs/", Admin));

        var list = await Rest.GetAsync("/api/v1/user_groups/", Admin);
        Assert.Contains(list.Data!.AsArray(), g => g!.ToJsonString() == """{"name":"devs","display":"","member":0}""");
        Assert.Contains(list.Data!.AsArray(), g => g!.ToJsonString() == """{"name":"admin","display":"Adminitrators of Nano Portal","member":1}""");

        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/user_groups/devs", null, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/user_groups/devs", Admin));
    }

    [Fact]
    public async Task Members_AddListRemove_BothRouteForms()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/user_groups/team", new { display = "Team" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/users/mem_b", new { password = "Membe2Pass" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/users/mem_a", new { password = "Membe2Pass" }, Admin)).ErrorCode);
        JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/user_groups/team/members/mem_b", null, Admin));
        JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/user_groups/team/members/mem_a/", null, Admin));

        JsonAssert.Success("""["mem_a","mem_b"]""", await Rest.GetAsync("/api/v1/user_groups/team/members/", Admin));
        JsonAssert.Success("""["mem_a","mem_b"]""", await Rest.GetAsync("/api/v1/user_groups/members/?group=team", Admin));
        JsonAssert.Success("""["admin"]""", await Rest.GetAsync("/api/v1/user_groups/members/", Admin));
        JsonAssert.Success("""["mem_a","mem_b"]""", await Rest.GetAsync("/api/v1/user_search/?group=team", Admin));

        JsonAssert.Failure(412, await Rest.PostAsync("/api/v1/user_groups/admin/members/mem_a", null, Admin));
        JsonAssert.Failure(412, await Rest.DeleteAsync("/api/v1/user_groups/team", null, Admin));
        JsonAssert.Failure(404, await Rest.PostAsync("/api/v1/user_groups/team/members/ghost", null, Admin));
        JsonAssert.Failure(404, await Rest.PostAsync("/api/v1/user_groups/ghosts/members/mem_a", null, Admin));

        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/user_groups/team/members/mem_a", null, Admin));
        JsonAssert.Failure(404, await Rest.DeleteAsync("/api/v1/user_groups/team/members/mem_a", null, Admin));
        JsonAssert.Success("""["mem_b"]""", await Rest.GetAsync("/api/v1/user_groups/team/members", Admin));
        Assert.Contains("mem_a", (await Rest.GetAsync("/api/v1/user_search/", Admin)).Data!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public async Task Group_Duplicate_UnknownRole_Reserved_BadName()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/user_groups/twice", new { display = "first" }, Admin)).ErrorCode);
        JsonAssert.Failure(409, await Rest.PostAsync("/api/v1/user_groups/twice", new { display = "second" }, Admin));
        JsonAssert.Failure(404, await Rest.PostAsync("/api/v1/user_groups/norole", new { role = new[] { "missing_role" } }, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/user_groups/norole", Admin));
        JsonAssert.Failure(404, await Rest.PutAsync("/api/v1/user_groups/twice", new { role = new[] { "missing_role" } }, Admin));
        JsonAssert.Success("""{"name":"twice","display":"first","role":[],"member":[]}""", await Rest.GetAsync("/api/v1/user_groups/twice", Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/user_groups/members", new { display = "x" }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/user_groups/has%20space", new { display = "x" }, Admin));
        JsonAssert.Failure(404, await Rest.DeleteAsync("/api/v1/user_groups/never", null, Admin));
    }
}
