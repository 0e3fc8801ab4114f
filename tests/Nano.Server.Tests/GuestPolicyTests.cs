using Nano.Contracts.Cell.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>A guest's security policy: copied from its group, each change applied by the cell first.</summary>
public sealed class GuestPolicyTests(ZoneServer fixture) : GuestTestBase(fixture)
{
    [Fact]
    public async Task SecurityPolicy_IsCopiedFromItsGroup_AndEachChangeIsAppliedByTheCellFirst()
    {
        var group = (await Rest.PostAsync("/api/v1/security_policy_groups/", new { name = $"fw_{Suffix}", enabled = true, default_action = "reject" }, Admin)).Data!["id"]!.GetValue<string>();
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/security_policy_groups/{group}/rules/", new { protocol = "tcp", to_port = 22 }, Admin)).ErrorCode);
        var body = new { name = "fw", pool = Pool, template = General, cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB }, security_policy_group = group };
        var created = await Rest.PostAsync("/api/v1/guests/", body, Admin);
        Assert.True(created.ErrorCode == 0, created.Text);
        var id = created.Data!["id"]!.GetValue<string>();
        var guest = await WaitCreatedAsync(id);
        Assert.Equal(group, guest["security_policy_group"]!.GetValue<string>());
        var sent = Agent.Commands.Single(c => c.CreateInstance?.GuestId == id).CreateInstance.SecurityPolicy;
        Assert.Equal("reject|tcp:22", $"{sent.DefaultAction}|{string.Join(',', sent.Rules.Select(r => $"{r.Protocol}:{r.ToPort}"))}");

        // The group's later changes do not reach the guest's copy.
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/security_policy_groups/{group}/rules/", new { protocol = "icmp" }, Admin)).ErrorCode);
        var policy = $"/api/v1/guests/{id}/security_policy";
        Assert.Equal("""{"default_action":"reject","rules":[{"action":"accept","protocol":"tcp","from_address":"","to_address":"","to_port":22,"interface":0}]}""",
            (await Rest.GetAsync(policy, Admin)).Data!.ToJsonString());

        JsonAssert.Success("\"\"", await Rest.PostAsync($"{policy}/rules/", new { protocol = "tcp", to_port = 80, to_address = "10.0.0.5" }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"{policy}/rules/1/order", new { direction = "up" }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/security_policy/rules/0?guest={id}", new { action = "reject", protocol = "tcp", to_port = 80 }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/guests/security_policy/rules/0/order", new { guest = id, direction = "down" }, Admin));
        JsonAssert.Failure(400, await Rest.PutAsync("/api/v1/guests/security_policy/rules/0/order", new { direction = "down" }, Admin)); // which guest?
        JsonAssert.Success("\"\"", await Rest.PutAsync($"{policy}/default_action", new { action = "accept" }, Admin));
        JsonAssert.Failure(412, await Rest.PutAsync($"{policy}/default_action", new { action = "accept" }, Admin));
        var applied = Agent.Commands.Last(c => c.ApplySecurityPolicy?.GuestId == id).ApplySecurityPolicy.Policy;
        Assert.Equal("accept|tcp:22:accept,tcp:80:reject", $"{applied.DefaultAction}|{string.Join(',', applied.Rules.Select(r => $"{r.Protocol}:{r.ToPort}:{r.Action}"))}");
        Assert.Equal(5, Agent.Commands.Count(c => c.ApplySecurityPolicy?.GuestId == id));

        // A cell that refuses leaves the stored policy as it was.
        Agent.Answer = c => c.ApplySecurityPolicy is not null ? new CommandResult { Id = c.Id, Error = "nwfilter: iptables failed" } : Answer(c);
        JsonAssert.Failure(412, await Rest.DeleteAsync($"/api/v1/guests/security_policy/rules/0?guest={id}", null, Admin));
        Assert.Equal(2, (await Rest.GetAsync(policy, Admin)).Data!["rules"]!.AsArray().Count);
        Agent.Answer = Answer;
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/guests/{id}/security_policy/rules/0", null, Admin));
        Assert.Equal("tcp:80", string.Join(',', (await Rest.GetAsync(policy, Admin)).Data!["rules"]!.AsArray().Select(r => $"{r!["protocol"]}:{r["to_port"]}")));

        // A guest created without a group accepts everything, with no rules; a disabled group is refused.
        var plain = (await Rest.PostAsync("/api/v1/guests/", body with { name = "plain", security_policy_group = "" }, Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(plain);
        Assert.Equal("""{"default_action":"accept","rules":[]}""", (await Rest.GetAsync($"/api/v1/guests/{plain}/security_policy", Admin)).Data!.ToJsonString());
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/security_policy_groups/{group}", new { name = $"fw_{Suffix}", enabled = false, default_action = "reject" }, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.PostAsync("/api/v1/guests/", body with { name = "off" }, Admin));
    }
}
