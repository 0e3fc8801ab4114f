using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>A guest's configuration record with the address of its cell and the progress of its running operation.</summary>
public sealed record GuestRow
{
    public required Guid Id { get; init; }
    public required string Name { get; init; }
    public required string Owner { get; init; }
    public required string GroupName { get; init; }
    public required string Pool { get; init; }
    public string? Cell { get; init; }
    public string? Host { get; init; }
    public bool Created { get; init; }
    public int Progress { get; init; }
    public bool Running { get; init; }
    public bool Lost { get; init; }
    public int Cores { get; init; }
    public long Memory { get; init; }
    public long[] Disks { get; init; } = [];
    public bool AutoStart { get; init; }
    public string System { get; init; } = "";
    public DateTime? CreateTime { get; init; }
    public string Template { get; init; } = "";
    public string MonitorSecret { get; init; } = "";
    public string? EthernetAddress { get; init; }
    public string DisplayProtocol { get; init; } = "vnc";
    public string DisplayAddress { get; init; } = "";
    public string InternalAddress { get; init; } = "";
    public string AdminName { get; init; } = "";
    public string AdminSecret { get; init; } = "";
    public string[] Modules { get; init; } = [];
    public string CpuPriority { get; init; } = "high";
    public long ReadSpeed { get; init; }
    public long WriteSpeed { get; init; }
    public long ReadIops { get; init; }
    public long WriteIops { get; init; }
    public long ReceiveSpeed { get; init; }
    public long SendSpeed { get; init; }
    public double CpuUsage { get; init; }
    public long MemoryUsed { get; init; }
    public long BytesRead { get; init; }
    public long BytesWritten { get; init; }
    public long BytesReceived { get; init; }
    public long BytesSent { get; init; }
    public Guid? Operation { get; init; }
    public string DiskBus { get; init; } = "sata";
    public string NicModel { get; init; } = "virtio";
    public string Display { get; init; } = "vga";
    public string Usb { get; init; } = "";
    public string Tablet { get; init; } = "";
    public Guid? SystemImage { get; init; }
    public Guid? MediaSource { get; init; }
    public Guid? SecurityPolicyGroup { get; init; }
    public bool Migrating { get; init; }

    /// <summary>While <see cref="Migrating"/>: the cell the guest is moving to (null for rows flagged before it was recorded).</summary>
    public string? MigratingTo { get; init; }

    /// <summary>Counted up each time the guest moves to another cell; its domain carries the generation it was defined with.</summary>
    public long Generation { get; init; } = 1;

    /// <summary>The CPU definition of the guest's domain ("" unknown: the hypervisor's default).</summary>
    public string Cpu { get; init; } = "";

    /// <summary>Counted up by each write of the settings a user changes (<see cref="GuestRepository.UpdateSettingsAsync"/>).</summary>
    public long SettingsVersion { get; init; }
}

/// <summary>Where a guest's row places it: its cell, the generation its domain must carry, and whether it is moving.</summary>
public sealed record GuestPlacement(Guid Id, string Name, string? Cell, long Generation, bool Migrating);

/// <summary>One guest's usage as its cell reported it: CPU in percent, memory used, and its disks' and NICs' byte counters.</summary>
public sealed record GuestSample(string Cell, Guid Id, double Cpu, long Memory, long Read, long Written, long Received, long Sent);

/// <summary>A guest to insert: the configuration chosen at creation.</summary>
public sealed record NewGuest(
    Guid Id, string Name, string Owner, string GroupName, string Pool, string Cell, int Cores, long Memory, long[] Disks, bool AutoStart,
    string System, string Template, string MonitorSecret, string EthernetAddress, string DisplayProtocol, string AdminName, string AdminSecret,
    string[] Modules, string CpuPriority, long ReadSpeed, long WriteSpeed, long ReadIops, long WriteIops, long ReceiveSpeed, long SendSpeed,
    string DiskBus, string NicModel, string Display, string Usb, string Tablet, Guid? SystemImage, Guid? SecurityPolicyGroup);

/// <summary>Guest rows, with the address allocation that goes with them.</summary>
public sealed class GuestRepository(NpgsqlDataSource db, CellRepository cells, AddressAllocations addresses, SecretSeal seal)
{
    private string Select => $"""
        SELECT g.id, g.name, g.owner, g.group_name, g.pool, g.cell, cl.address AS host, g.created,
               CASE WHEN g.created THEN 0 ELSE COALESCE((SELECT o.percent FROM operations o WHERE o.id = g.operation AND o.finished_at IS NULL), 0) END AS progress,
               g.running, (g.cell IS NOT NULL AND NOT {cells.AliveOf("cl")}) AS lost, g.cores, g.memory, g.disks, g.auto_start, g.system, g.create_time,
               g.template, g.monitor_secret, g.ethernet_address, g.display_protocol, g.display_address, g.internal_address, g.admin_name, g.admin_secret,
               g.modules, g.cpu_priority, g.read_speed, g.write_speed, g.read_iops, g.write_iops, g.receive_speed, g.send_speed,
               g.cpu_usage, g.memory_used, g.bytes_read, g.bytes_written, g.bytes_received, g.bytes_sent, g.operation,
               g.disk_bus, g.nic_model, g.display, g.usb, g.tablet, g.system_image, g.media_source, g.security_policy_group, g.migrating, g.migrating_to, g.generation, g.cpu,
               g.settings_version
        FROM guests g LEFT JOIN cells cl ON cl.name = g.cell
        """;

    /// <summary>A stopped guest's CD-ROM drive is empty: media inserted or booted from stay only while it runs.</summary>
    private const string MediaFollowsRunning = "media_source = CASE WHEN @running THEN media_source END";

    /// <summary>
    /// Flags guests as migrating from <paramref name="cell"/> to <paramref name="target"/> under <paramref name="operation"/>;
    /// false (nothing flagged) when any of them is gone, not on the cell or migrating already.
    /// </summary>
    public async Task<bool> MarkMigratingAsync(IReadOnlyList<Guid> ids, string cell, string target, Guid operation)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var flagged = await c.ExecuteAsync("""
            UPDATE guests SET migrating = true, migrating_to = @target, operation = @operation
            WHERE id = ANY(@ids) AND cell = @cell AND created AND NOT migrating
            """, new { ids = ids.ToArray(), cell, target, operation }, tx);
        if (flagged != ids.Count)
            return false;
        await tx.CommitAsync();
        return true;
    }

    /// <summary>
    /// A migrated guest belongs to its new cell in its next generation: stopped with no console yet, or, moved live,
    /// running with the console at <paramref name="display"/>; with <paramref name="cell"/> null, the flag just clears.
    /// </summary>
    public async Task FinishMigrationAsync(Guid id, string? cell, bool running = false, string display = "")
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("""
            UPDATE guests SET migrating = false, migrating_to = NULL, cell = COALESCE(@cell::text, cell), running = CASE WHEN @cell::text IS NULL THEN running ELSE @running END,
                display_address = CASE WHEN @cell::text IS NULL THEN display_address ELSE @display END,
                generation = CASE WHEN @cell::text IS NULL THEN generation ELSE generation + 1 END
            WHERE id = @id
            """, new { id, cell, running, display });
    }

    /// <summary>
    /// Failover: flags a lost cell's guest as migrating to <paramref name="target"/>, unless it moved, is migrating already,
    /// or its cell came back meanwhile. False when nothing was flagged.
    /// </summary>
    public async Task<bool> MarkFailingOverAsync(Guid id, string lostCell, string target)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync($"""
            UPDATE guests g SET migrating = true, migrating_to = @target FROM cells cl
            WHERE g.id = @id AND g.cell = @lostCell AND g.created AND NOT g.migrating AND cl.name = g.cell AND NOT {cells.AliveOf("cl")}
            """, new { id, lostCell, target }) == 1;
    }

    /// <summary>The operation that works on the guest now (its progress shows while it is not created; recovery resumes it).</summary>
    public async Task AttachOperationAsync(Guid id, Guid operation)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("UPDATE guests SET operation = @operation WHERE id = @id", new { id, operation });
    }

    /// <summary>
    /// What guests still being created hold on each cell of <paramref name="pool"/>: their memory and disk, placed there
    /// but not yet in the figures the cell reports. The scheduler counts it as taken.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, (long Memory, long Disk)>> ReservedAsync(string pool)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<(string Cell, long Memory, long Disk)>("""
            SELECT g.cell, sum(g.memory)::bigint, sum((SELECT COALESCE(sum(d), 0) FROM unnest(g.disks) d))::bigint
            FROM guests g JOIN operations o ON o.id = g.operation
            WHERE g.pool = @pool AND NOT g.created AND o.kind = 'create_guest' AND o.finished_at IS NULL
            GROUP BY g.cell
            """, new { pool })).ToDictionary(r => r.Cell, r => (r.Memory, r.Disk));
    }

    /// <summary>Guests whose creation, system reset, migration or failover has not ended: not created, or migrating.</summary>
    public async Task<IReadOnlyList<GuestRow>> ListUnsettledAsync(Guid self, TimeSpan liveness)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<GuestRow>($"""
            {Select} WHERE (NOT g.created OR g.migrating)
              AND NOT {ReplicaRepository.RunByLiveReplica("g.operation")}
            ORDER BY g.name
            """, new { self, liveness })).AsList();
    }

    /// <summary>The media image in the guest's CD-ROM drive (null: empty).</summary>
    public async Task SetMediaAsync(Guid id, Guid? media)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("UPDATE guests SET media_source = @media WHERE id = @id", new { id, media });
    }

    /// <summary>The disk image the guest's system volume is an overlay of (null: none).</summary>
    public async Task SetSystemImageAsync(Guid id, Guid? image)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("UPDATE guests SET system_image = @image WHERE id = @id", new { id, image });
    }

    /// <summary>Guests hosted in a pool, or on one cell of it, sorted by name; guests being created included.</summary>
    public async Task<IReadOnlyList<GuestRow>> ListAsync(string pool, string? cell) => await ListVisibleAsync(pool, cell, owner: null, group: null);

    /// <summary>
    /// The guests of a pool (or one of its cells) that <paramref name="owner"/> owns, or that belong to <paramref name="group"/>;
    /// every one when <paramref name="owner"/> is null.
    /// </summary>
    public async Task<IReadOnlyList<GuestRow>> ListVisibleAsync(string pool, string? cell, string? owner, string? group)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<GuestRow>($"""
            {Select} WHERE g.pool = @pool AND (@cell::text IS NULL OR g.cell = @cell)
              AND (@owner::text IS NULL OR g.owner = @owner OR (@group::text IS NOT NULL AND g.group_name = @group))
            ORDER BY g.name
            """, new { pool, cell, owner, group })).Select(Opened).ToList();
    }

    public async Task<GuestRow?> FindAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<GuestRow>($"{Select} WHERE g.id = @id", new { id }) is { } row ? Opened(row) : null;
    }

    /// <summary>The placements of those of <paramref name="ids"/> that have a row (one query for a cell's whole list of domains).</summary>
    public async Task<IReadOnlyDictionary<Guid, GuestPlacement>> PlacementsAsync(IReadOnlyCollection<Guid> ids)
    {
        if (ids.Count == 0)
            return new Dictionary<Guid, GuestPlacement>();
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<GuestPlacement>("SELECT id, name, cell, generation, migrating FROM guests WHERE id = ANY(@ids)", new { ids = ids.ToArray() }))
            .ToDictionary(p => p.Id);
    }

    /// <summary>
    /// Inserts the guest (not created yet, its creation operation attached) with its security policy and, when the pool uses an
    /// address pool, its address, in one transaction. Returns the address in CIDR form ("" without an address pool); Exists
    /// when the pool has a guest of that name, InUse when the address pool has no free address.
    /// </summary>
    public async Task<(Written Written, string Address)> InsertAsync(NewGuest guest, SecurityPolicy policy, string? addressPool, Guid operation)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var written = await c.WriteAsync("""
                INSERT INTO guests (id, name, owner, group_name, pool, cell, cores, memory, disks, auto_start, system, template, monitor_secret,
                                    ethernet_address, display_protocol, admin_name, admin_secret, modules, cpu_priority, read_speed, write_speed,
                                    read_iops, write_iops, receive_speed, send_speed, operation, disk_bus, nic_model, display, usb, tablet, system_image, security_policy_group)
                VALUES (@Id, @Name, @Owner, @GroupName, @Pool, @Cell, @Cores, @Memory, @Disks, @AutoStart, @System, @Template, @MonitorSecret,
                        @EthernetAddress, @DisplayProtocol, @AdminName, @AdminSecret, @Modules, @CpuPriority, @ReadSpeed, @WriteSpeed,
                        @ReadIops, @WriteIops, @ReceiveSpeed, @SendSpeed, @operation, @DiskBus, @NicModel, @Display, @Usb, @Tablet, @SystemImage, @SecurityPolicyGroup)
            """, new DynamicParameters(guest with { MonitorSecret = seal.Seal(guest.MonitorSecret), AdminSecret = seal.Seal(guest.AdminSecret) })
                .With("operation", operation), tx);
        if (written.Outcome != WriteOutcome.Done)
            return (written, "");
        await SecurityPolicyRepository.InsertGuestPolicyAsync(c, tx, guest.Id, policy);
        var cidr = "";
        if (addressPool is not null)
        {
            cidr = await addresses.AllocateCidrAsync(c, tx, addressPool, guest.Id.ToString()) ?? "";
            if (cidr.Length == 0)
                return (Written.InUse(addressPool), "");
            await c.ExecuteAsync("UPDATE guests SET internal_address = @cidr WHERE id = @Id", new { cidr, guest.Id }, tx);
        }
        await tx.CommitAsync();
        return (written, cidr);
    }

    /// <summary>A row as read, its secrets opened (<see cref="SecretSeal"/>).</summary>
    private GuestRow Opened(GuestRow row) => row with { MonitorSecret = seal.Open(row.MonitorSecret), AdminSecret = seal.Open(row.AdminSecret) };

    /// <summary>Seals the secrets of rows written before they were sealed; how many rows it changed.</summary>
    public async Task<int> SealStoredSecretsAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        var plain = (await c.QueryAsync<(Guid Id, string MonitorSecret, string AdminSecret)>("""
            SELECT id, monitor_secret, admin_secret FROM guests
            WHERE NOT (monitor_secret = '' OR starts_with(monitor_secret, @prefix)) OR NOT (admin_secret = '' OR starts_with(admin_secret, @prefix))
            """, new { prefix = SecretSeal.Prefix })).AsList();
        foreach (var (id, monitorSecret, adminSecret) in plain)
        {
            // Only if unchanged meanwhile: a change written since then is sealed already.
            await c.ExecuteAsync("""
                UPDATE guests SET monitor_secret = @sealedMonitor, admin_secret = @sealedAdmin
                WHERE id = @id AND monitor_secret = @monitorSecret AND admin_secret = @adminSecret
                """, new { id, monitorSecret, adminSecret, sealedMonitor = Sealed(monitorSecret), sealedAdmin = Sealed(adminSecret) });
        }
        return plain.Count;
    }

    private string Sealed(string stored) => SecretSeal.IsSealed(stored) ? stored : seal.Seal(stored);

    /// <summary>
    /// Writes the settings a user changes (name, cores, memory, disk sizes, auto start, QoS, console and admin secrets)
    /// from <paramref name="changed"/>, if the row is still at <see cref="GuestRow.SettingsVersion"/>: Busy when another
    /// change was written since it was read, Missing when the guest is gone, Exists when the name is taken in the pool.
    /// </summary>
    public async Task<Written> UpdateSettingsAsync(GuestRow changed)
    {
        await using var c = await db.OpenConnectionAsync();
        var written = await c.WriteAsync("""
            UPDATE guests SET name = @Name, cores = @Cores, memory = @Memory, disks = @Disks, auto_start = @AutoStart,
                              cpu_priority = @CpuPriority, read_speed = @ReadSpeed, write_speed = @WriteSpeed, read_iops = @ReadIops,
                              write_iops = @WriteIops, receive_speed = @ReceiveSpeed, send_speed = @SendSpeed,
                              monitor_secret = @MonitorSecret, admin_name = @AdminName, admin_secret = @AdminSecret,
                              settings_version = settings_version + 1
            WHERE id = @Id AND settings_version = @SettingsVersion
            """, changed with { MonitorSecret = seal.Seal(changed.MonitorSecret), AdminSecret = seal.Seal(changed.AdminSecret) });
        return written.Outcome == WriteOutcome.Missing &&
               await c.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM guests WHERE id = @Id)", changed)
            ? Written.Busy
            : written;
    }

    /// <summary>The guest is being rebuilt (system reset): not created, its operation attached for progress.</summary>
    public async Task MarkRebuildingAsync(Guid id, Guid operation, Guid? image)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("UPDATE guests SET created = false, operation = @operation, system_image = @image WHERE id = @id", new { id, operation, image });
    }

    public async Task MarkRebuiltAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("UPDATE guests SET created = true WHERE id = @id", new { id });
    }

    /// <summary>The guest's cell created it; <paramref name="cpu"/> is its domain's CPU definition ("" keeps the recorded one).</summary>
    public async Task MarkCreatedAsync(Guid id, bool running, string displayAddress, string cpu = "")
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("""
            UPDATE guests SET created = true, create_time = now(), running = @running, display_address = @displayAddress,
                cpu = COALESCE(NULLIF(@cpu, ''), cpu)
            WHERE id = @id
            """, new { id, running, displayAddress, cpu });
    }

    /// <summary>What the cell says of the guest's domain: running, its console, its CPU definition ("" keeps the recorded one).</summary>
    public async Task SetDisplayAsync(Guid id, bool running, string displayAddress, string cpu = "")
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync($"""
            UPDATE guests SET running = @running, display_address = @displayAddress, cpu = COALESCE(NULLIF(@cpu, ''), cpu), {MediaFollowsRunning}
            WHERE id = @id
            """, new { id, running, displayAddress, cpu });
    }

    /// <summary>Removes the row and frees its address, in one transaction.</summary>
    public async Task DeleteAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        await AddressAllocations.ReleaseAsync(c, tx, id.ToString());
        await c.ExecuteAsync("DELETE FROM guests WHERE id = @id", new { id }, tx);
        await tx.CommitAsync();
    }

    /// <summary>
    /// Gives up on a guest whose cell may still hold (or later make) its domain: the row and address go, and the guest is
    /// recorded as abandoned on <paramref name="cell"/>, so the domain is removed when that cell reports it.
    /// </summary>
    public async Task AbandonAsync(Guid id, string cell)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        await AddressAllocations.ReleaseAsync(c, tx, id.ToString());
        await c.ExecuteAsync("""
            DELETE FROM guests WHERE id = @id;
            INSERT INTO abandoned_guests (id, cell) VALUES (@id, @cell) ON CONFLICT (id) DO UPDATE SET cell = EXCLUDED.cell, abandoned_at = now();
            """, new { id, cell }, tx);
        await tx.CommitAsync();
    }

    /// <summary>Records whether a guest's domain runs, as its cell reports; false when no row of that cell has the id.</summary>
    public async Task<bool> SetRunningAsync(string cell, Guid guest, bool running)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync($"UPDATE guests SET running = @running, {MediaFollowsRunning} WHERE id = @guest AND cell = @cell", new { cell, guest, running }) == 1;
    }

    /// <summary>
    /// Takes a rejoining cell's report as the truth about its guests: reported domains set their guest's
    /// running flag; created guests of the cell without a domain are stopped. Returns the reported
    /// guest ids that have no row (domains nobody owns).
    /// </summary>
    public async Task<IReadOnlyList<Guid>> ReconcileAsync(string cell, IReadOnlyDictionary<Guid, bool> reported)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var ids = reported.Keys.ToArray();
        var running = ids.Select(id => reported[id]).ToArray();
        await c.ExecuteAsync("""
            UPDATE guests g SET running = r.running, media_source = CASE WHEN r.running THEN g.media_source END
            FROM unnest(@ids, @running) AS r(id, running)
            WHERE g.id = r.id AND g.cell = @cell AND (g.running IS DISTINCT FROM r.running OR (NOT r.running AND g.media_source IS NOT NULL))
            """, new { cell, ids, running }, tx);
        await c.ExecuteAsync("UPDATE guests SET running = false, media_source = NULL WHERE cell = @cell AND created AND running AND NOT (id = ANY(@ids))",
            new { cell, ids }, tx);
        var unknown = (await c.QueryAsync<Guid>("SELECT r FROM unnest(@ids) AS r WHERE NOT EXISTS (SELECT 1 FROM guests WHERE id = r)",
            new { ids }, tx)).AsList();
        await tx.CommitAsync();
        return unknown;
    }

    /// <summary>
    /// Guests' usage reported by their cells (<see cref="Cells.CellReports"/>'s batch): each sample is written to its guest
    /// if the guest is still on the cell that reported it; rows another transaction holds are skipped (the next sample
    /// comes in seconds).
    /// </summary>
    public async Task SaveMetricsAsync(IReadOnlyList<GuestSample> samples)
    {
        if (samples.Count == 0)
            return;
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("""
            UPDATE guests g SET cpu_usage = s.cpu, memory_used = s.memory, bytes_read = s.rd, bytes_written = s.wr, bytes_received = s.rx, bytes_sent = s.tx
            FROM unnest(@cells, @ids, @cpu, @memory, @rd, @wr, @rx, @tx) AS s(cell, id, cpu, memory, rd, wr, rx, tx)
            WHERE g.id = s.id AND g.cell = s.cell
              AND g.id IN (SELECT id FROM guests WHERE id = ANY(@ids) FOR UPDATE SKIP LOCKED)
            """, new
        {
            cells = samples.Select(s => s.Cell).ToArray(),
            ids = samples.Select(s => s.Id).ToArray(),
            cpu = samples.Select(s => s.Cpu).ToArray(),
            memory = samples.Select(s => s.Memory).ToArray(),
            rd = samples.Select(s => s.Read).ToArray(),
            wr = samples.Select(s => s.Written).ToArray(),
            rx = samples.Select(s => s.Received).ToArray(),
            tx = samples.Select(s => s.Sent).ToArray(),
        });
    }

    /// <summary>
    /// Guests a user may list (api-decisions.md 3.6): its own, plus its group's when <paramref name="group"/> is given,
    /// narrowed by pool or cell, created/running flags and a keyword in the name, allocated address or host IP. Sorted by name.
    /// </summary>
    public async Task<IReadOnlyList<GuestRow>> SearchAsync(
        string owner, string? group, string? pool, string? cell, bool? created, bool? running, string? keyword)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<GuestRow>($"""
            {Select}
            WHERE (g.owner = @owner OR (@group::text IS NOT NULL AND g.group_name = @group))
              AND (@pool::text IS NULL OR g.pool = @pool) AND (@cell::text IS NULL OR g.cell = @cell)
              AND (@created::boolean IS NULL OR g.created = @created) AND (@running::boolean IS NULL OR g.running = @running)
              AND (@keyword::text IS NULL OR strpos(g.name, @keyword) > 0 OR strpos(g.internal_address, @keyword) > 0 OR strpos(COALESCE(cl.address, ''), @keyword) > 0)
            ORDER BY g.name
            """, new { owner, group, pool, cell, created, running, keyword })).Select(Opened).ToList();
    }
}
