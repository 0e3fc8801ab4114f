using Dapper;
using Microsoft.Extensions.Options;
using Nano.Server.Hosting;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>A cell with its capacity, storage settings, latest metrics and guest counters.</summary>
public sealed record CellRow
{
    public required string Name { get; init; }
    public required string Address { get; init; }
    public string? Pool { get; init; }
    public bool Enabled { get; init; }
    public bool Alive { get; init; }
    public int Cores { get; init; }
    public long Memory { get; init; }
    public string StorageMode { get; init; } = "local";
    public string[] SystemPaths { get; init; } = [];
    public string[] DataPaths { get; init; } = [];
    public double CpuUsage { get; init; }
    public long AvailableMemory { get; init; }
    public long MaxMemory { get; init; }
    public long AvailableDisk { get; init; }
    public long MaxDisk { get; init; }
    public long ReadSpeed { get; init; }
    public long WriteSpeed { get; init; }
    public long ReceiveSpeed { get; init; }
    public long SendSpeed { get; init; }
    public int Stopped { get; init; }
    public int Running { get; init; }
    public int Lost { get; init; }
    public int Migrating { get; init; }

    /// <summary>The libvirt URI other cells reach this cell's libvirtd at (live migration); "" for none.</summary>
    public string MigrationUri { get; init; } = "";

    /// <summary>The CPU definitions guests can start with on this cell's host, best first (empty: not known).</summary>
    public string[] Cpus { get; init; } = [];

    /// <summary>Fingerprint of the host's CPU.</summary>
    public string CpuSignature { get; init; } = "";
}

/// <summary>What an agent's hello says about its host.</summary>
public sealed record CellRegistration(
    string Name, string Address, string AgentVersion, string LibvirtUri, string Hypervisor, long HypervisorVersion, bool Kvm,
    int Cores, long Memory, long AvailableMemory, string StorageMode, string[] SystemPaths, string[] DataPaths, long DiskTotal, long DiskAvailable,
    string MigrationUri, string[] Cpus, string CpuSignature, Guid Stream);

/// <summary>One metrics sample of a cell's host.</summary>
public sealed record CellMetrics(
    double CpuUsage, long AvailableMemory, long MaxMemory, long AvailableDisk, long MaxDisk,
    long ReadSpeed, long WriteSpeed, long ReceiveSpeed, long SendSpeed);

public sealed record CellStorageAttachmentRow(string StoragePool, bool Attached, string Error);

/// <summary>
/// Sums over a set of cells: how many are offline and online, their guests by state, and over the live cells only the
/// cores, the CPU usage weighted by cores, memory, disk and rates (what <see cref="Domain.ZoneStatistics"/> is made of).
/// </summary>
public sealed record CellTotals(
    int Offline, int Online, int Stopped, int Running, int Lost, int Migrating, double CpuWeighted, int Cores,
    long AvailableMemory, long MaxMemory, long AvailableDisk, long MaxDisk, long ReadSpeed, long WriteSpeed, long ReceiveSpeed, long SendSpeed)
{
    /// <summary>The totals of no cells.</summary>
    public static readonly CellTotals None = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}

/// <summary>The zone's figures: its compute pools, disabled and enabled, and the totals of every cell in a pool.</summary>
public sealed record ZoneTotals(int DisabledPools, int EnabledPools, CellTotals PooledCells);

/// <summary>
/// Cells. Alive is derived, never stored: the agent's stream is up (connected) and the cell was heard
/// from within the liveness timeout (last_seen), so a server that died holding streams leaves no
/// cell looking alive. A guest counts once: migrating, else lost (its cell is not alive), else running or stopped; the
/// counts come from cell_guest_counts, which the database keeps as guests change (Schema/0023).
/// </summary>
public sealed class CellRepository(NpgsqlDataSource db, IOptions<NanoOptions> options, Replicas.ReplicaIdentity self)
{
    private string Alive => AliveOf("c");

    /// <summary>The SQL condition "cell row <paramref name="alias"/> is alive", for queries that join cells.</summary>
    public string AliveOf(string alias) =>
        $"({alias}.connected AND {alias}.last_seen > now() - interval '{options.Value.CellLivenessSeconds} seconds')";

    private string Select => $"""
        SELECT c.name, c.address, c.pool, c.enabled, {Alive} AS alive, c.cores, c.memory, c.storage_mode, c.system_paths, c.data_paths,
               c.cpu_usage, c.available_memory, c.max_memory, c.available_disk, c.max_disk,
               c.read_speed, c.write_speed, c.receive_speed, c.send_speed, c.migration_uri, c.cpus, c.cpu_signature,
               CASE WHEN {Alive} THEN coalesce(n.stopped, 0) ELSE 0 END AS stopped,
               CASE WHEN {Alive} THEN coalesce(n.running, 0) ELSE 0 END AS running,
               CASE WHEN {Alive} THEN 0 ELSE coalesce(n.stopped + n.running, 0) END AS lost,
               coalesce(n.migrating, 0) AS migrating
        FROM cells c LEFT JOIN cell_guest_counts n ON n.cell = c.name
        """;

    public async Task<IReadOnlyList<CellRow>> ListAsync(string? pool, bool unallocated = false)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<CellRow>($"""
            {Select} WHERE (@unallocated AND c.pool IS NULL) OR (NOT @unallocated AND (@pool::text IS NULL OR c.pool = @pool))
            ORDER BY c.name
            """, new { pool, unallocated })).AsList();
    }

    /// <summary>
    /// The totals of every pooled cell (a null <paramref name="pool"/>: the zone's figures) or of one pool's, summed by the
    /// database: a status read costs one row, whatever the number of cells and guests.
    /// </summary>
    public async Task<CellTotals> TotalsAsync(string? pool)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleAsync<CellTotals>(Totals(byPool: false), new { pool });
    }

    /// <summary>The totals of each pool's cells, by pool name (a pool without cells is absent).</summary>
    public async Task<IReadOnlyDictionary<string, CellTotals>> TotalsByPoolAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        var rows = await c.QueryAsync<string, CellTotals, (string Pool, CellTotals Totals)>(
            Totals(byPool: true), (pool, totals) => (pool, totals), new { pool = (string?)null }, splitOn: "offline");
        return rows.ToDictionary(r => r.Pool, r => r.Totals);
    }

    /// <summary>The zone's pools and the totals of its pooled cells, in one round trip (the zone status is asked often).</summary>
    public async Task<ZoneTotals> ZoneTotalsAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        await using var results = await c.QueryMultipleAsync($"""
            SELECT count(*) FILTER (WHERE NOT enabled)::int, count(*) FILTER (WHERE enabled)::int FROM compute_pools;
            {Totals(byPool: false)}
            """, new { pool = (string?)null });
        var (disabled, enabled) = await results.ReadSingleAsync<(int, int)>();
        return new ZoneTotals(disabled, enabled, await results.ReadSingleAsync<CellTotals>());
    }

    /// <summary>
    /// The sums of <see cref="CellTotals"/> over the pooled cells, of pool <c>@pool</c> only unless it is null; with
    /// <paramref name="byPool"/>, one row per pool led by its name.
    /// </summary>
    private string Totals(bool byPool) => $"""
        SELECT {(byPool ? "c.pool AS pool," : "")} count(*) FILTER (WHERE NOT c.alive)::int AS offline, count(*) FILTER (WHERE c.alive)::int AS online,
               coalesce(sum(n.stopped) FILTER (WHERE c.alive), 0)::int AS stopped,
               coalesce(sum(n.running) FILTER (WHERE c.alive), 0)::int AS running,
               coalesce(sum(n.stopped + n.running) FILTER (WHERE NOT c.alive), 0)::int AS lost,
               coalesce(sum(n.migrating), 0)::int AS migrating,
               coalesce(sum(c.cpu_usage * c.cores) FILTER (WHERE c.alive), 0)::float8 AS cpu_weighted,
               coalesce(sum(c.cores) FILTER (WHERE c.alive), 0)::int AS cores,
               coalesce(sum(c.available_memory) FILTER (WHERE c.alive), 0)::bigint AS available_memory,
               coalesce(sum(c.max_memory) FILTER (WHERE c.alive), 0)::bigint AS max_memory,
               coalesce(sum(c.available_disk) FILTER (WHERE c.alive), 0)::bigint AS available_disk,
               coalesce(sum(c.max_disk) FILTER (WHERE c.alive), 0)::bigint AS max_disk,
               coalesce(sum(c.read_speed) FILTER (WHERE c.alive), 0)::bigint AS read_speed,
               coalesce(sum(c.write_speed) FILTER (WHERE c.alive), 0)::bigint AS write_speed,
               coalesce(sum(c.receive_speed) FILTER (WHERE c.alive), 0)::bigint AS receive_speed,
               coalesce(sum(c.send_speed) FILTER (WHERE c.alive), 0)::bigint AS send_speed
        FROM (SELECT c.name, c.pool, c.cores, c.cpu_usage, c.available_memory, c.max_memory, c.available_disk, c.max_disk, c.read_speed,
                     c.write_speed, c.receive_speed, c.send_speed, {Alive} AS alive
              FROM cells c WHERE c.pool IS NOT NULL AND (@pool::text IS NULL OR c.pool = @pool)) c
             LEFT JOIN cell_guest_counts n ON n.cell = c.name
        {(byPool ? "GROUP BY c.pool" : "")}
        """;

    public async Task<CellRow?> FindAsync(string name)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<CellRow>($"{Select} WHERE c.name = @name", new { name });
    }

    /// <summary>
    /// Records an agent's hello: a new cell appears unallocated and enabled; a known one is updated. Its free memory and disk
    /// count from now on, so a guest created the moment the cell is attached is placed on it.
    /// </summary>
    public async Task RegisterAsync(CellRegistration r)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("""
            INSERT INTO cells (name, address, connected, last_seen, agent_version, libvirt_uri, hypervisor, hypervisor_version, kvm, cores, memory,
                               storage_mode, system_paths, data_paths, max_memory, available_memory, available_disk, max_disk, migration_uri,
                               cpus, cpu_signature, stream, replica)
            VALUES (@Name, @Address, true, now(), @AgentVersion, @LibvirtUri, @Hypervisor, @HypervisorVersion, @Kvm, @Cores, @Memory,
                    @StorageMode, @SystemPaths, @DataPaths, @Memory, @AvailableMemory, @DiskAvailable, @DiskTotal, @MigrationUri,
                    @Cpus, @CpuSignature, @Stream, @replica)
            ON CONFLICT (name) DO UPDATE SET
                address = EXCLUDED.address, connected = true, departed = false, last_seen = now(), agent_version = EXCLUDED.agent_version,
                libvirt_uri = EXCLUDED.libvirt_uri, hypervisor = EXCLUDED.hypervisor, hypervisor_version = EXCLUDED.hypervisor_version,
                kvm = EXCLUDED.kvm, cores = EXCLUDED.cores, memory = EXCLUDED.memory, storage_mode = EXCLUDED.storage_mode,
                system_paths = EXCLUDED.system_paths, data_paths = EXCLUDED.data_paths, max_memory = EXCLUDED.max_memory,
                available_memory = EXCLUDED.available_memory, available_disk = EXCLUDED.available_disk, max_disk = EXCLUDED.max_disk,
                migration_uri = EXCLUDED.migration_uri, cpus = EXCLUDED.cpus, cpu_signature = EXCLUDED.cpu_signature,
                stream = EXCLUDED.stream, replica = EXCLUDED.replica
            """, new DynamicParameters(r).With("replica", self.Id));
    }

    /// <summary>The agent said goodbye: it stopped in order, and its guests are not failed over until it returns.</summary>
    public async Task MarkDepartedAsync(string name)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("UPDATE cells SET departed = true WHERE name = @name", new { name });
    }

    /// <summary>The SQL of "cell row c is in a failover pool (one with shared storage)".</summary>
    private const string FailsOver = "EXISTS (SELECT 1 FROM compute_pools p WHERE p.name = c.pool AND p.failover AND p.storage IS NOT NULL)";

    /// <summary>
    /// A batch of cells heard from (<see cref="Cells.CellReports"/>) on their streams, each with its latest figures if it
    /// sent any: one statement writes their last_seen and figures, for the cells whose row is connected and names that
    /// stream; answers, for each cell written, whether its pool fails over. A cell left out is offline (the leader took it
    /// for dead) or connected on a newer stream.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, bool>> SaveReportsAsync(IReadOnlyList<(string Cell, Guid Stream, CellMetrics? Metrics)> reports)
    {
        await using var c = await db.OpenConnectionAsync();
        // A cell that sent no figures since the last batch has nulls in their place: its row keeps the figures it has.
        var rows = await c.QueryAsync<(string Name, bool Failover)>($"""
            UPDATE cells c SET last_seen = now(),
                cpu_usage = coalesce(r.cpu, c.cpu_usage), available_memory = coalesce(r.available_memory, c.available_memory),
                max_memory = coalesce(r.max_memory, c.max_memory), available_disk = coalesce(r.available_disk, c.available_disk),
                max_disk = coalesce(r.max_disk, c.max_disk), read_speed = coalesce(r.read_speed, c.read_speed),
                write_speed = coalesce(r.write_speed, c.write_speed), receive_speed = coalesce(r.receive_speed, c.receive_speed),
                send_speed = coalesce(r.send_speed, c.send_speed)
            FROM unnest(@names, @streams, @cpu, @availableMemory, @maxMemory, @availableDisk, @maxDisk, @readSpeed, @writeSpeed, @receiveSpeed, @sendSpeed)
                AS r(name, stream, cpu, available_memory, max_memory, available_disk, max_disk, read_speed, write_speed, receive_speed, send_speed)
            WHERE c.name = r.name AND c.connected AND c.stream = r.stream
            RETURNING c.name, {FailsOver}
            """, new
        {
            names = reports.Select(r => r.Cell).ToArray(),
            streams = reports.Select(r => r.Stream).ToArray(),
            cpu = reports.Select(r => r.Metrics?.CpuUsage).ToArray(),
            availableMemory = reports.Select(r => r.Metrics?.AvailableMemory).ToArray(),
            maxMemory = reports.Select(r => r.Metrics?.MaxMemory).ToArray(),
            availableDisk = reports.Select(r => r.Metrics?.AvailableDisk).ToArray(),
            maxDisk = reports.Select(r => r.Metrics?.MaxDisk).ToArray(),
            readSpeed = reports.Select(r => r.Metrics?.ReadSpeed).ToArray(),
            writeSpeed = reports.Select(r => r.Metrics?.WriteSpeed).ToArray(),
            receiveSpeed = reports.Select(r => r.Metrics?.ReceiveSpeed).ToArray(),
            sendSpeed = reports.Select(r => r.Metrics?.SendSpeed).ToArray(),
        });
        return rows.ToDictionary(r => r.Name, r => r.Failover);
    }

    /// <summary>
    /// The agent's stream <paramref name="stream"/> ended: the cell is offline until it reconnects, unless a newer stream
    /// of it registered meanwhile (the row names the newest stream).
    /// </summary>
    public async Task DisconnectAsync(string name, Guid stream)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("UPDATE cells SET connected = false WHERE name = @name AND stream = @stream", new { name, stream });
    }

    /// <summary>Cells marked connected but silent for longer than the liveness timeout, with when they were last heard from.</summary>
    public async Task<IReadOnlyList<(string Name, DateTime LastSeen)>> ListSilentAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<(string, DateTime)>($"SELECT c.name, c.last_seen FROM cells c WHERE c.connected AND NOT {Alive}")).AsList();
    }

    /// <summary>
    /// Cells of failover pools (with shared storage) not alive for longer than <paramref name="graceSeconds"/> (last heard
    /// from more than the liveness timeout plus that ago) and gone without a goodbye (an orderly stop loses its guests, it does not fail them over), that still hold
    /// created guests not being moved: (cell, pool).
    /// </summary>
    public async Task<IReadOnlyList<(string Cell, string Pool)>> ListLostAsync(int graceSeconds)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<(string, string)>($"""
            SELECT c.name, c.pool FROM cells c JOIN compute_pools p ON p.name = c.pool
            WHERE p.failover AND p.storage IS NOT NULL AND NOT {Alive} AND NOT c.departed
              AND c.last_seen < now() - make_interval(secs => @graceSeconds + {options.Value.CellLivenessSeconds})
              AND EXISTS (SELECT 1 FROM guests g WHERE g.cell = c.name AND g.created AND NOT g.migrating)
            ORDER BY c.name
            """, new { graceSeconds })).AsList();
    }

    /// <summary>Marks a silent cell offline, unless it was heard from (or rejoined) since <paramref name="lastSeen"/>.</summary>
    public async Task<bool> DisconnectSilentAsync(string name, DateTime lastSeen)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("UPDATE cells SET connected = false WHERE name = @name AND last_seen = @lastSeen", new { name, lastSeen }) == 1;
    }

    /// <summary>
    /// Records the certificate issued to cell <paramref name="name"/>: a new name, or one whose cell is in no compute pool
    /// and not alive (a reinstalled host its operator took out of its pool), whose earlier certificate stops counting.
    /// False when the name is enrolled and its cell is in a pool or alive.
    /// </summary>
    public async Task<bool> EnrollAsync(string name, string serial)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync($"""
            INSERT INTO cell_credentials (name, serial) VALUES (@name, @serial)
            ON CONFLICT (name) DO UPDATE SET serial = EXCLUDED.serial, enrolled_at = now()
            WHERE NOT EXISTS (SELECT 1 FROM cells c WHERE c.name = @name AND (c.pool IS NOT NULL OR {Alive}))
            """, new { name, serial }) == 1;
    }

    /// <summary>The serial of the certificate cell <paramref name="name"/> was issued, or null.</summary>
    public async Task<string?> CredentialSerialAsync(string name)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteScalarAsync<string?>("SELECT serial FROM cell_credentials WHERE name = @name", new { name });
    }

    /// <summary>Puts an unallocated cell into a pool; false when it already belongs to one.</summary>
    public async Task<bool> AttachAsync(string name, string pool)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("UPDATE cells SET pool = @pool WHERE name = @name AND pool IS NULL", new { name, pool }) == 1;
    }

    /// <summary>
    /// Takes a cell out of its pool when it hosts no guest, not even one being created (else InUse with the number
    /// of its guests); Missing when the cell is not in that pool.
    /// </summary>
    public async Task<Written> DetachAsync(string name, string pool)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var guests = await c.ExecuteScalarAsync<int>("SELECT count(*) FROM guests WHERE cell = @name", new { name }, tx);
        if (guests > 0)
            return Written.InUse(guests.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var written = await c.WriteAsync("UPDATE cells SET pool = NULL WHERE name = @name AND pool = @pool", new { name, pool }, tx);
        if (written.Outcome != WriteOutcome.Done)
            return written;
        await c.ExecuteAsync("DELETE FROM cell_storage_attachments WHERE cell = @name", new { name }, tx);
        await tx.CommitAsync();
        return written;
    }

    /// <summary>Undoes an attach whose storage set-up failed.</summary>
    public async Task UndoAttachAsync(string name, string pool)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("UPDATE cells SET pool = NULL WHERE name = @name AND pool = @pool", new { name, pool });
    }

    public async Task<bool> SetEnabledAsync(string name, bool enabled)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("UPDATE cells SET enabled = @enabled WHERE name = @name AND enabled <> @enabled", new { name, enabled }) == 1;
    }

    public async Task SetStorageAsync(string name, string mode, string[] system, string[] data)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("UPDATE cells SET storage_mode = @mode, system_paths = @system, data_paths = @data WHERE name = @name",
            new { name, mode, system, data });
    }

    public async Task<IReadOnlyList<CellStorageAttachmentRow>> ListAttachmentsAsync(string name)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<CellStorageAttachmentRow>(
            "SELECT storage_pool, attached, error FROM cell_storage_attachments WHERE cell = @name ORDER BY storage_pool", new { name })).AsList();
    }

    public async Task SetAttachmentAsync(string name, string storagePool, bool attached, string error)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("""
            INSERT INTO cell_storage_attachments (cell, storage_pool, attached, error) VALUES (@name, @storagePool, @attached, @error)
            ON CONFLICT (cell, storage_pool) DO UPDATE SET attached = EXCLUDED.attached, error = EXCLUDED.error
            """, new { name, storagePool, attached, error });
    }
}
