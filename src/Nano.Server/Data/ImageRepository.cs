using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>A media or disk image record; progress is read from the operation building it.</summary>
public sealed record ImageRow
{
    public required Guid Id { get; init; }
    public required string Kind { get; init; }
    public required string Name { get; init; }
    public required string Owner { get; init; }
    public required string GroupName { get; init; }
    public string Description { get; init; } = "";
    public string[] Tags { get; init; } = [];
    public bool Created { get; init; }
    public int Progress { get; init; }
    public long Size { get; init; }
    public string Sha256 { get; init; } = "";
    public string Sha1 { get; init; } = "";
    public Guid? LockedBy { get; init; }
    public DateTime CreateTime { get; init; }
    public DateTime ModifyTime { get; init; }
}

/// <summary>The fields of an image a client may set.</summary>
public sealed record ImageFields(string? Name, string? Owner, string? GroupName, string? Description, string[]? Tags);

/// <summary>Image records. Writing an image's content takes its lock; changes and deletion wait for none and fail while it is held.</summary>
public sealed class ImageRepository(NpgsqlDataSource db, Replicas.ReplicaIdentity self)
{
    private const string Select = """
        SELECT i.id, i.kind, i.name, i.owner, i.group_name, i.description, i.tags, i.created,
               CASE WHEN i.created THEN 0 ELSE COALESCE((SELECT o.percent FROM operations o WHERE o.id = i.operation AND o.finished_at IS NULL), 0) END AS progress,
               i.size, i.sha256, i.sha1, i.locked_by, i.create_time, i.modify_time
        FROM images i
        """;

    public async Task<ImageRow?> FindAsync(string kind, Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<ImageRow>($"{Select} WHERE i.id = @id AND i.kind = @kind", new { id, kind });
    }

    public async Task<ImageRow?> FindAnyAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<ImageRow>($"{Select} WHERE i.id = @id", new { id });
    }

    /// <summary>Images of a kind owned by <paramref name="owner"/> or (when given) in <paramref name="group"/>, with any of <paramref name="tags"/>; sorted by group, then name.</summary>
    public async Task<IReadOnlyList<ImageRow>> ListAsync(string kind, string? owner, string? group, string[] tags)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<ImageRow>($"""
            {Select} WHERE i.kind = @kind
              AND (@owner::text IS NULL OR i.owner = @owner OR i.group_name = @group)
              AND (cardinality(@tags::text[]) = 0 OR i.tags && @tags::text[])
            ORDER BY i.group_name, i.name
            """, new { kind, owner, group, tags })).AsList();
    }

    /// <summary>A new record without content; with <paramref name="operation"/>, that operation builds it and holds its lock.</summary>
    public Task<Written> InsertAsync(string kind, Guid id, ImageFields f, Guid? operation = null) => db.WriteOneAsync("""
        INSERT INTO images (id, kind, name, owner, group_name, description, tags, operation, locked_by, locked_replica)
        VALUES (@id, @kind, @Name, @Owner, @GroupName, @Description, @Tags, @operation, @operation, CASE WHEN @operation::uuid IS NULL THEN NULL ELSE @replica END)
        """, new DynamicParameters(f).With("id", id).With("kind", kind).With("operation", operation).With("replica", self.Id));

    /// <summary>A file found in the store: a record with its content, created at once.</summary>
    public Task<Written> InsertFoundAsync(string kind, Guid id, ImageFields f, long size, string sha256, string sha1) => db.WriteOneAsync("""
        INSERT INTO images (id, kind, name, owner, group_name, description, tags, created, size, sha256, sha1)
        VALUES (@id, @kind, @Name, @Owner, @GroupName, @Description, @Tags, true, @size, @sha256, @sha1)
        """, new DynamicParameters(f).With("id", id).With("kind", kind).With("size", size).With("sha256", sha256).With("sha1", sha1));

    /// <summary>Changes the given (non-null) fields of an unlocked image: Busy while it is being written, Exists when the name is taken.</summary>
    public async Task<Written> ModifyAsync(string kind, Guid id, ImageFields f)
    {
        await using var c = await db.OpenConnectionAsync();
        return await MissingOrBusyAsync(c, kind, id, await c.WriteAsync("""
            UPDATE images SET name = COALESCE(@Name, name), owner = COALESCE(@Owner, owner), group_name = COALESCE(@GroupName, group_name),
                              description = COALESCE(@Description, description), tags = COALESCE(@Tags, tags), modify_time = now()
            WHERE id = @id AND kind = @kind AND locked_by IS NULL
            """, new DynamicParameters(f).With("id", id).With("kind", kind)));
    }

    /// <summary>
    /// Deletes an unlocked image no guest uses (else InUse with up to five of their names); Busy while it is being
    /// written. The caller removes the file.
    /// </summary>
    public async Task<Written> DeleteAsync(string kind, Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        var written = await c.WriteAsync("DELETE FROM images WHERE id = @id AND kind = @kind AND locked_by IS NULL", new { id, kind });
        if (written.Outcome != WriteOutcome.InUse)
            return await MissingOrBusyAsync(c, kind, id, written);
        var users = await c.QueryAsync<string>(
            "SELECT name FROM guests WHERE system_image = @id OR media_source = @id ORDER BY name LIMIT 5", new { id });
        return Written.InUse(string.Join(", ", users));
    }

    /// <summary>Takes the write lock of an image: Missing when it is unknown, Busy when another write holds it.</summary>
    public async Task<Written> LockAsync(string kind, Guid id, Guid holder)
    {
        await using var c = await db.OpenConnectionAsync();
        return await MissingOrBusyAsync(c, kind, id, await c.WriteAsync(
            "UPDATE images SET locked_by = @holder, locked_replica = @replica WHERE id = @id AND kind = @kind AND locked_by IS NULL",
            new { id, kind, holder, replica = self.Id }));
    }

    public async Task UnlockAsync(Guid id, Guid holder)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("UPDATE images SET locked_by = NULL WHERE id = @id AND locked_by = @holder", new { id, holder });
    }

    /// <summary>Records new content written under the lock and releases it.</summary>
    public async Task SetContentAsync(Guid id, Guid holder, long size, string sha256, string sha1)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("""
            UPDATE images SET created = true, size = @size, sha256 = @sha256, sha1 = @sha1, modify_time = now(), locked_by = NULL, operation = NULL
            WHERE id = @id AND locked_by = @holder
            """, new { id, holder, size, sha256, sha1 });
    }

    /// <summary>Removes a record whose content never arrived (a failed clone); nothing refers to it yet.</summary>
    public async Task DeleteUnfinishedAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("DELETE FROM images WHERE id = @id AND NOT created", new { id });
    }

    /// <summary>
    /// No write survives the replica that made it: the write locks dead replicas held are released, and the clones whose
    /// operation no live replica runs any more are removed. Returns the ids of those clones.
    /// </summary>
    public async Task<IReadOnlyList<Guid>> RecoverAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        var scope = new { self = self.Id, liveness = self.Liveness };
        var dropped = (await c.QueryAsync<Guid>($"""
            DELETE FROM images i WHERE NOT i.created AND i.operation IS NOT NULL
              AND NOT {ReplicaRepository.RunByLiveReplica("i.operation")}
            RETURNING i.id
            """, scope)).AsList();
        await c.ExecuteAsync($"UPDATE images SET locked_by = NULL, locked_replica = NULL WHERE locked_by IS NOT NULL AND {ReplicaRepository.NotAlive("locked_replica")}", scope);
        return dropped;
    }

    /// <summary>Every record of a kind (for synchronisation with the store's files).</summary>
    public async Task<IReadOnlyList<ImageRow>> ListAllAsync(string kind)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<ImageRow>($"{Select} WHERE i.kind = @kind", new { kind })).AsList();
    }

    /// <summary>Removes records (of unlocked images no guest uses) whose files vanished.</summary>
    public async Task<int> ForgetAsync(string kind, IReadOnlyList<Guid> ids)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("""
            DELETE FROM images i WHERE i.kind = @kind AND i.id = ANY(@ids) AND i.locked_by IS NULL
              AND NOT EXISTS (SELECT 1 FROM guests g WHERE g.system_image = i.id OR g.media_source = i.id)
            """, new { kind, ids = ids.ToArray() });
    }

    /// <summary>A write that touched no unlocked row: Busy when the image exists (another write holds it), Missing otherwise.</summary>
    private static async Task<Written> MissingOrBusyAsync(NpgsqlConnection c, string kind, Guid id, Written written) =>
        written.Outcome == WriteOutcome.Missing &&
        await c.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM images WHERE id = @id AND kind = @kind)", new { id, kind })
            ? Written.Busy
            : written;
}
