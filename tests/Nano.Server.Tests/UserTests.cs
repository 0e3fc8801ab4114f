using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Users #118-#123 and passwords.</summary>
public sealed class UserTests(InitializedServer fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task User_CreateGetModifyDelete()
    {
        JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/users/alice", new { password = "Al1cePassword", nick = "Alice", mail = "alice@example.org" }, Admin));
        JsonAssert.Success("""{"name":"alice","nick":"Alice","mail":"alice@example.org"}""", await Rest.GetAsync("/api/v1/users/alice", Admin));
        Assert.DoesNotContain("Al1cePassword", (await Rest.GetAsync("/api/v1/users/alice", Admin)).Text);

        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/users/alice", new { nick = "Ally" }, Admin));
        JsonAssert.Success("""{"name":"alice","nick":"Ally","mail":"alice@example.org"}""", await Rest.GetAsync("/api/v1/users/alice/", Admin));

        var names = (await Rest.GetAsync("/api/v1/users/", Admin)).Data!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Contains("alice", names);
        Assert.Equal(names.Order(StringComparer.Ordinal), names);

        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/users/alice", null, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/users/alice", Admin));
        JsonAssert.Failure(404, await Rest.DeleteAsync("/api/v1/users/alice", null, Admin));
        JsonAssert.Failure(404, await Rest.PutAsync("/api/v1/users/alice", new { nick = "x" }, Admin));
    }

    [Theory]
    [InlineData("shortA1")]
    [InlineData("alllowercase1")]
    [InlineData("ALLUPPERCASE1")]
    [InlineData("NoDigitsHere")]
    [InlineData("")]
    public async Task User_WithWeakPassword_IsRefused(string password)
    {
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/users/weakling", new { password }, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/users/weakling", Admin));
    }

    [Fact]
    public async Task User_Duplicate_IsRefused()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/users/twin", new { password = "Tw1nPassword", nick = "first" }, Admin)).ErrorCode);
        JsonAssert.Failure(409, await Rest.PostAsync("/api/v1/users/twin", new { password = "Tw1nPassword", nick = "second" }, Admin));
        JsonAssert.Success("""{"name":"twin","nick":"first","mail":""}""", await Rest.GetAsync("/api/v1/users/twin", Admin));
    }

    [Fact]
    public async Task Password_ChangeNeedsTheOldOne()
    {
        var session = await Fixture.UserWithMenusAsync("pw", "dashboard");
        JsonAssert.Failure(400, await Rest.PutAsync("/api/v1/users/pw_user/password/", new { old = "Wrong0ldPass", @new = "N3wPassword" }, session));
        JsonAssert.Failure(400, await Rest.PutAsync("/api/v1/users/pw_user/password/", new { old = "Us3rPassword", @new = "weak" }, session));
        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/users/pw_user/password/", new { old = "Us3rPassword", @new = "N3wPassword" }, session));

        JsonAssert.Failure(401, await Rest.PostAsync("/api/v1/sessions/", new { user = "pw_user", password = "Us3rPassword", nonce = "" }));
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/sessions/", new { user = "pw_user", password = "N3wPassword", nonce = "" })).ErrorCode);
    }

    /// <summary>Security, abuse of the front door (issue 13, item 11): whoever logged in with the old password is out once it changes.</summary>
    [Fact]
    public async Task Password_Change_EndsTheUsersOtherSessions_ButNotTheOneAsking()
    {
        var asking = await Fixture.UserWithMenusAsync("pwend", "dashboard");
        var stolen = await Fixture.LoginAsync("pwend_user", "Us3rPassword");
        var other = await Fixture.UserWithMenusAsync("pwkeep", "dashboard");
        Assert.Equal(0, (await Rest.GetAsync("/api/v1/users/pwend_user", stolen)).ErrorCode);

        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/users/pwend_user/password/", new { old = "Us3rPassword", @new = "N3wPassword" }, asking));

        JsonAssert.Failure(401, await Rest.GetAsync("/api/v1/users/pwend_user", stolen));
        Assert.Equal(0, (await Rest.GetAsync("/api/v1/users/pwend_user", asking)).ErrorCode);
        Assert.Equal(0, (await Rest.GetAsync("/api/v1/users/pwkeep_user", other)).ErrorCode); // another user's sessions stay
    }

    [Fact]
    public async Task Password_OfAnotherUser_NeedsTheUserMenu()
    {
        var session = await Fixture.UserWithMenusAsync("nosy", "dashboard");
        JsonAssert.Failure(403, await Rest.PutAsync("/api/v1/users/admin/password", new { old = InitializedServer.AdminPassword, @new = "Hack3dPassword" }, session));
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/sessions/", new { user = "admin", password = InitializedServer.AdminPassword, nonce = "" })).ErrorCode);
    }

    [Fact]
    public async Task UserSearch_OfUnknownGroup_IsNotFound()
    {
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/user_search/?group=unknown_group", Admin));
    }
}
