using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;

namespace Nano.Server.Services;

/// <summary>Guests: create (#37), get (#36), delete (#38); the other guest routes come with later steps and answer UNIMPLEMENTED.</summary>
public sealed class GuestService(GuestCreation creation, GuestAccess access, GuestLifecycle lifecycle, OperationRepository operations)
    : Contracts.V1.GuestService.GuestServiceBase
{
    /// <summary>Answers the new id at once (REST 202); the creation goes on as an operation.</summary>
    public override async Task<CreateGuestResponse> CreateGuest(CreateGuestRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        var id = await creation.StartAsync(GuestRules.Validate(request, session), session.User);
        RestStatus.Set(context, StatusCodes.Status202Accepted);
        return new CreateGuestResponse { Data = new IdData { Id = id.ToString() } };
    }

    /// <summary>REST 201 while the guest is being created. A creation that failed is reported once, then the id is unknown.</summary>
    public override async Task<GetGuestResponse> GetGuest(GetGuestRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        GuestRow guest;
        try
        {
            guest = await access.FindAsync(session, request.Id);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && Guid.TryParse(request.Id, out _))
        {
            var user = session.Menu.Contains(AccessRules.UserMenu) ? null : session.User;
            var failure = await operations.TakeFailureAsync(GuestCreation.Kind, request.Id, user);
            throw failure is null ? e : Fail.Precondition($"creating guest {request.Id} failed: {failure}");
        }
        if (!guest.Created)
            RestStatus.Set(context, StatusCodes.Status201Created);
        return new GetGuestResponse { Data = GuestMessages.ToGuest(guest, withSecret: true) };
    }

    public override async Task<DeleteGuestResponse> DeleteGuest(DeleteGuestRequest request, ServerCallContext context)
    {
        var guest = await access.FindAsync(SessionInterceptor.SessionOf(context), request.Id);
        await lifecycle.DeleteAsync(guest, context.CancellationToken);
        return new DeleteGuestResponse();
    }
}
