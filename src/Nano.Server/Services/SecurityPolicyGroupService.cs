using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>Security policy groups #87-#95 and B8: settings and an ordered rule list new guests copy.</summary>
public sealed class SecurityPolicyGroupService(SecurityPolicies domain, SecurityPolicyRepository policies)
    : Contracts.V1.SecurityPolicyGroupService.SecurityPolicyGroupServiceBase
{
    public override async Task<GetSecurityPolicyGroupResponse> GetSecurityPolicyGroup(GetSecurityPolicyGroupRequest request, ServerCallContext context) =>
        new() { Data = ToMessage(await domain.FindGroupAsync(request.Id)) };

    public override async Task<CreateSecurityPolicyGroupResponse> CreateSecurityPolicyGroup(CreateSecurityPolicyGroupRequest request, ServerCallContext context)
    {
        var fields = SecurityPolicies.Fields(request.Name, request.Description, request.User, request.Group, request.Enabled, request.IsGlobal,
            request.DefaultAction, SessionInterceptor.SessionOf(context));
        var id = Guid.NewGuid();
        await policies.CreateGroupAsync(id, fields).OrFail(exists: Duplicate(fields));
        return new CreateSecurityPolicyGroupResponse { Data = new IdData { Id = id.ToString() } };
    }

    public override async Task<ModifySecurityPolicyGroupResponse> ModifySecurityPolicyGroup(ModifySecurityPolicyGroupRequest request, ServerCallContext context)
    {
        var group = await domain.FindGroupToChangeAsync(SessionInterceptor.SessionOf(context), request.Id);
        var fields = SecurityPolicies.Fields(request.Name, request.Description, request.User, request.Group, request.Enabled, request.IsGlobal,
            request.DefaultAction, SessionInterceptor.SessionOf(context));
        await policies.ReplaceGroupAsync(group.Id, fields).OrFail(missing: NotFound(group.Id), exists: Duplicate(fields));
        return new ModifySecurityPolicyGroupResponse();
    }

    public override async Task<DeleteSecurityPolicyGroupResponse> DeleteSecurityPolicyGroup(DeleteSecurityPolicyGroupRequest request, ServerCallContext context)
    {
        var group = await domain.FindGroupToChangeAsync(SessionInterceptor.SessionOf(context), request.Id);
        await policies.DeleteGroupAsync(group.Id).OrFail(missing: NotFound(group.Id));
        return new DeleteSecurityPolicyGroupResponse();
    }

    public override async Task<ListSecurityPolicyRulesResponse> ListSecurityPolicyRules(ListSecurityPolicyRulesRequest request, ServerCallContext context)
    {
        var group = await domain.FindGroupAsync(request.Id);
        var policy = await policies.GroupPolicyAsync(group.Id) ?? new SecurityPolicy(group.DefaultAction, []);
        return new ListSecurityPolicyRulesResponse { Data = { policy.Rules.Select(ToMessage) } };
    }

    public override async Task<AddSecurityPolicyRuleResponse> AddSecurityPolicyRule(AddSecurityPolicyRuleRequest request, ServerCallContext context)
    {
        var rule = SecurityRules.Rule(request.Action, request.Protocol, request.FromAddress, request.ToAddress, request.ToPort, request.Interface);
        await domain.ChangeGroupRulesAsync(SessionInterceptor.SessionOf(context), request.Id, rules => SecurityRules.Add(rules, rule, withDestination: false));
        return new AddSecurityPolicyRuleResponse();
    }

    public override async Task<ModifySecurityPolicyRuleResponse> ModifySecurityPolicyRule(ModifySecurityPolicyRuleRequest request, ServerCallContext context)
    {
        var rule = SecurityRules.Rule(request.Action, request.Protocol, request.FromAddress, request.ToAddress, request.ToPort, request.Interface);
        await domain.ChangeGroupRulesAsync(SessionInterceptor.SessionOf(context), request.Id, rules => SecurityRules.Replace(rules, request.Index, rule, withDestination: false));
        return new ModifySecurityPolicyRuleResponse();
    }

    public override async Task<MoveSecurityPolicyRuleResponse> MoveSecurityPolicyRule(MoveSecurityPolicyRuleRequest request, ServerCallContext context)
    {
        await domain.ChangeGroupRulesAsync(SessionInterceptor.SessionOf(context), request.Id, rules => SecurityRules.Move(rules, request.Index, request.Direction));
        return new MoveSecurityPolicyRuleResponse();
    }

    public override async Task<RemoveSecurityPolicyRuleResponse> RemoveSecurityPolicyRule(RemoveSecurityPolicyRuleRequest request, ServerCallContext context)
    {
        await domain.ChangeGroupRulesAsync(SessionInterceptor.SessionOf(context), request.Id, rules => SecurityRules.Remove(rules, request.Index));
        return new RemoveSecurityPolicyRuleResponse();
    }

    /// <summary>B8: every group, narrowed by the query (upstream applies no session filter).</summary>
    public override async Task<SearchSecurityPolicyGroupsResponse> SearchSecurityPolicyGroups(SearchSecurityPolicyGroupsRequest request, ServerCallContext context) =>
        new()
        {
            Data =
            {
                (await policies.SearchGroupsAsync(InputRules.OptionalName("user", request.Owner), InputRules.OptionalName("group", request.Group),
                    request.EnabledOnly, request.GlobalOnly)).Select(ToMessage),
            },
        };

    private static SecurityPolicyGroup ToMessage(PolicyGroupRow g) => new()
    {
        Id = g.Id.ToString(), Name = g.Name, Description = g.Description, User = g.Owner, Group = g.GroupName, Enabled = g.Enabled, IsGlobal = g.Global,
        DefaultAction = g.DefaultAction,
    };

    public static SecurityRule ToMessage(PolicyRule r) => new()
    {
        Action = r.Action, Protocol = r.Protocol, FromAddress = r.FromAddress, ToAddress = r.ToAddress, ToPort = r.ToPort, Interface = r.Interface,
    };

    private static string Duplicate(PolicyGroupFields fields) => $"a security policy group named '{fields.Name}' exists already";

    private static string NotFound(Guid id) => $"security policy group '{id}' not found";
}
