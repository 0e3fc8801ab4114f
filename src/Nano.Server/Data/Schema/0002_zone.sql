-- The zone: storage pools, address pools with ranges and allocations, compute pools, cells and
-- their latest figures, and the guest rows the status routes count.

CREATE TABLE storage_pools (
    name        text PRIMARY KEY,
    type        text NOT NULL CHECK (type = 'nfs'),
    host        text NOT NULL,
    target      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE address_pools (
    name        text PRIMARY KEY,
    gateway     text NOT NULL,
    provider    text NOT NULL CHECK (provider IN ('dhcp', 'cloudinit')),
    mode        text NOT NULL DEFAULT 'internal' CHECK (mode IN ('internal', 'external', 'both')),
    dns         text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- IPv4 addresses are stored as bigint (0 .. 2^32-1); ranges keep their insertion order.
CREATE TABLE address_ranges (
    pool           text NOT NULL REFERENCES address_pools (name) ON DELETE CASCADE,
    type           text NOT NULL CHECK (type IN ('internal', 'external')),
    start_address  bigint NOT NULL,
    end_address    bigint NOT NULL,
    netmask        text NOT NULL,
    position       bigserial NOT NULL,
    PRIMARY KEY (pool, type, start_address),
    CHECK (end_address >= start_address)
);

-- An address is handed out at most once per pool; a range with allocations cannot be removed.
CREATE TABLE address_allocations (
    pool         text NOT NULL,
    type         text NOT NULL,
    range_start  bigint NOT NULL,
    address      bigint NOT NULL,
    instance     text NOT NULL,
    allocated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pool, address),
    FOREIGN KEY (pool, type, range_start) REFERENCES address_ranges (pool, type, start_address) ON DELETE RESTRICT
);

CREATE INDEX address_allocations_instance ON address_allocations (instance);

CREATE TABLE compute_pools (
    name        text PRIMARY KEY,
    storage     text REFERENCES storage_pools (name) ON DELETE RESTRICT,
    network     text REFERENCES address_pools (name) ON DELETE RESTRICT,
    failover    boolean NOT NULL DEFAULT false,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT failover OR storage IS NOT NULL)
);

INSERT INTO compute_pools (name) VALUES ('default');

-- A cell appears when its agent first connects; alive means its stream is up and it was heard
-- from within the liveness timeout (last_seen). The latest metrics sample is kept on the row.
CREATE TABLE cells (
    name                text PRIMARY KEY,
    address             text NOT NULL,
    pool                text REFERENCES compute_pools (name) ON DELETE RESTRICT,
    enabled             boolean NOT NULL DEFAULT true,
    connected           boolean NOT NULL DEFAULT false,
    last_seen           timestamptz NOT NULL DEFAULT now(),
    agent_version       text NOT NULL DEFAULT '',
    libvirt_uri         text NOT NULL DEFAULT '',
    hypervisor          text NOT NULL DEFAULT '',
    hypervisor_version  bigint NOT NULL DEFAULT 0,
    kvm                 boolean NOT NULL DEFAULT false,
    cores               integer NOT NULL DEFAULT 0,
    memory              bigint NOT NULL DEFAULT 0,
    storage_mode        text NOT NULL DEFAULT 'local',
    system_paths        text[] NOT NULL DEFAULT '{}',
    data_paths          text[] NOT NULL DEFAULT '{}',
    cpu_usage           double precision NOT NULL DEFAULT 0,
    available_memory    bigint NOT NULL DEFAULT 0,
    max_memory          bigint NOT NULL DEFAULT 0,
    available_disk      bigint NOT NULL DEFAULT 0,
    max_disk            bigint NOT NULL DEFAULT 0,
    read_speed          bigint NOT NULL DEFAULT 0,
    write_speed         bigint NOT NULL DEFAULT 0,
    receive_speed       bigint NOT NULL DEFAULT 0,
    send_speed          bigint NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX cells_pool ON cells (pool);

-- Whether a cell mounted the storage pool of its compute pool (#11).
CREATE TABLE cell_storage_attachments (
    cell          text NOT NULL REFERENCES cells (name) ON DELETE CASCADE,
    storage_pool  text NOT NULL,
    attached      boolean NOT NULL,
    error         text NOT NULL DEFAULT '',
    PRIMARY KEY (cell, storage_pool)
);

-- Guests: the configuration record of a virtual machine. Created here so pools, cells and the
-- status routes query real rows; the guest lifecycle fills them.
CREATE TABLE guests (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    owner         text NOT NULL,
    group_name    text NOT NULL,
    pool          text NOT NULL REFERENCES compute_pools (name) ON DELETE RESTRICT,
    cell          text REFERENCES cells (name) ON DELETE RESTRICT,
    created       boolean NOT NULL DEFAULT false,
    progress      integer NOT NULL DEFAULT 0,
    running       boolean NOT NULL DEFAULT false,
    migrating     boolean NOT NULL DEFAULT false,
    cores         integer NOT NULL,
    memory        bigint NOT NULL,
    disks         bigint[] NOT NULL,
    auto_start    boolean NOT NULL DEFAULT false,
    system        text NOT NULL DEFAULT 'linux',
    create_time   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pool, name)
);

CREATE INDEX guests_cell ON guests (cell);
