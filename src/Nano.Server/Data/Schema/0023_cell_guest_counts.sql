-- Guests counted by cell and state, kept by the database in the same transaction as each change to a guest, so a cell's
-- or the zone's status reads one row per cell instead of every guest (5,000 cells of 10 guests each). A guest counts
-- under its cell once created: migrating, else running or stopped; whether a stopped or running guest is lost depends on
-- its cell's liveness, told when read. Guests' metrics (written every few seconds) change none of these columns, so the
-- trigger does not fire for them.
CREATE TABLE cell_guest_counts (
    cell       text PRIMARY KEY REFERENCES cells (name) ON DELETE CASCADE,
    stopped    integer NOT NULL DEFAULT 0,
    running    integer NOT NULL DEFAULT 0,
    migrating  integer NOT NULL DEFAULT 0
);

CREATE FUNCTION nano_count_guests() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_cell text;
    old_kind text;
    new_cell text;
    new_kind text;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.cell IS NOT NULL AND OLD.created THEN
        old_cell := OLD.cell;
        old_kind := CASE WHEN OLD.migrating THEN 'migrating' WHEN OLD.running THEN 'running' ELSE 'stopped' END;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.cell IS NOT NULL AND NEW.created THEN
        new_cell := NEW.cell;
        new_kind := CASE WHEN NEW.migrating THEN 'migrating' WHEN NEW.running THEN 'running' ELSE 'stopped' END;
    END IF;
    IF old_cell IS NOT DISTINCT FROM new_cell AND old_kind IS NOT DISTINCT FROM new_kind THEN
        RETURN NULL;
    END IF;
    -- The (at most two) rows are made and locked in name order: two guests moving between the same cells in opposite
    -- directions at once cannot deadlock.
    INSERT INTO cell_guest_counts (cell)
        SELECT c FROM unnest(ARRAY[old_cell, new_cell]) c WHERE c IS NOT NULL ORDER BY c ON CONFLICT (cell) DO NOTHING;
    PERFORM 1 FROM cell_guest_counts WHERE cell IN (old_cell, new_cell) ORDER BY cell FOR UPDATE;
    IF old_cell IS NOT NULL THEN
        UPDATE cell_guest_counts SET stopped = stopped - (old_kind = 'stopped')::int, running = running - (old_kind = 'running')::int,
            migrating = migrating - (old_kind = 'migrating')::int
        WHERE cell = old_cell;
    END IF;
    IF new_cell IS NOT NULL THEN
        UPDATE cell_guest_counts SET stopped = stopped + (new_kind = 'stopped')::int, running = running + (new_kind = 'running')::int,
            migrating = migrating + (new_kind = 'migrating')::int
        WHERE cell = new_cell;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER guests_count AFTER INSERT OR DELETE OR UPDATE OF cell, created, running, migrating ON guests
    FOR EACH ROW EXECUTE FUNCTION nano_count_guests();

INSERT INTO cell_guest_counts (cell, stopped, running, migrating)
SELECT cell, count(*) FILTER (WHERE NOT migrating AND NOT running), count(*) FILTER (WHERE NOT migrating AND running), count(*) FILTER (WHERE migrating)
FROM guests WHERE created AND cell IS NOT NULL GROUP BY cell;
