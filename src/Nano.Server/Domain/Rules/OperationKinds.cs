namespace Nano.Server.Domain.Rules;

/// <summary>
/// Every kind of operation the server runs, as it appears in <c>GET /api/v1/operations/</c> (<c>kind</c>): the one list
/// of them.
/// </summary>
public static class OperationKinds
{
    public const string CreateGuest = "create_guest";
    public const string ResetSystem = "reset_system";
    public const string CreateSnapshot = "create_snapshot";
    public const string RevertSnapshot = "revert_snapshot";
    public const string CloneDiskImage = "clone_disk_image";
    public const string MigrateGuests = "migrate_guests";
    public const string FailoverGuest = "failover_guest";
    public const string BatchCreateGuest = "batch_create_guest";
    public const string BatchDeleteGuest = "batch_delete_guest";
    public const string BatchStopGuest = "batch_stop_guest";
    public const string RecoverGuest = "recover_guest";
}
