-- Several nano-server replicas share one database. Each registers itself here at start-up under a fresh id and
-- refreshes last_seen every few seconds; one whose last_seen is older than the replica liveness window is dead, and
-- the leader recovers what it left unfinished (its operations, image locks, staged uploads) before deleting its row.
CREATE TABLE replicas (
    id          uuid PRIMARY KEY,
    grpc_url    text NOT NULL,
    rest_url    text NOT NULL,
    host        text NOT NULL DEFAULT '',
    version     text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now()
);

-- Duties that must run on one replica at a time (liveness, failover, sweeps, recovery) run on the holder of a lease,
-- which it renews while it lives; another replica takes an expired lease.
CREATE TABLE leases (
    name         text PRIMARY KEY,
    replica      uuid NOT NULL,
    acquired_at  timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

-- The replica that holds a cell's stream (the row's stream), and the one that runs an operation: recovery takes over
-- only what a dead replica held. Rows written before replicas existed name none, and count as a dead replica's.
ALTER TABLE cells ADD COLUMN replica uuid;
ALTER TABLE operations ADD COLUMN replica uuid;
CREATE INDEX operations_unfinished ON operations (replica) WHERE finished_at IS NULL;

-- The replica whose upload (or clone) holds an image's write lock.
ALTER TABLE images ADD COLUMN locked_replica uuid;

-- The key replicas present to each other (metadata "nano-replica-key"): made by the first replica that needs it.
CREATE TABLE replica_key (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    key        text NOT NULL
);

-- Which secrets key seals this zone's stored secrets (a fingerprint, not the key): a replica started with another key
-- file would fail to read them, so it refuses to start instead (replicas share <DataDir>/secrets.key).
CREATE TABLE secrets_key_check (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    fingerprint  text NOT NULL
);
