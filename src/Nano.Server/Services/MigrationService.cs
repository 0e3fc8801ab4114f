using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>
/// Migrations #96-#98: each is an operation; REST 202 on submission, 201 on reads while it runs (A10); a finished one
/// is returned once, by either read, then forgotten (api-decisions.md 4.10).
/// </summary>
public sealed class MigrationService(Migrations migrations, MigrationRepository rows) : Contracts.V1.MigrationService.MigrationServiceBase
{
    public override async Task<CreateMigrationResponse> CreateMigration(CreateMigrationRequest request, ServerCallContext context)
    {
        var id = await migrations.StartAsync(request.SourcePool, request.SourceCell, request.TargetCell, request.TargetPool, request.Instances,
            SessionInterceptor.SessionOf(context).User);
        RestStatus.Set(context, StatusCodes.Status202Accepted);
        return new CreateMigrationResponse { Data = new IdData { Id = id.ToString() } };
    }

    public override async Task<GetMigrationResponse> GetMigration(GetMigrationRequest request, ServerCallContext context)
    {
        var row = (Guid.TryParse(request.Id, out var id) ? await rows.TakeAsync(id) : null)
            ?? throw Fail.NotFound($"migration '{(request.Id.Length > 40 ? request.Id[..40] : request.Id)}' not found (a finished one is returned once)");
        if (row.FinishedAt is null)
            RestStatus.Set(context, StatusCodes.Status201Created);
        return new GetMigrationResponse { Data = new MigrationStatus { Finished = row.FinishedAt is not null, Progress = row.Percent, Error = row.Error } };
    }

    public override async Task<ListMigrationsResponse> ListMigrations(ListMigrationsRequest request, ServerCallContext context) => new()
    {
        Data =
        {
            (await rows.TakeAllAsync()).Select(o => new Migration { Id = o.Id.ToString(), Finished = o.FinishedAt is not null, Progress = o.Percent, Error = o.Error }),
        },
    };
}
