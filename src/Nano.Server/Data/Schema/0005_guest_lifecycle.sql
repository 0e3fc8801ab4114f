-- What the guest lifecycle records: hardware and access settings, the allocated address, QoS, the
-- console, and the last figures its cell reported. A failed creation is told once through its operation.

ALTER TABLE guests
    ADD COLUMN template          text NOT NULL DEFAULT '',
    ADD COLUMN monitor_secret    text NOT NULL DEFAULT '',
    ADD COLUMN ethernet_address  text,
    ADD COLUMN display_protocol  text NOT NULL DEFAULT 'vnc',
    ADD COLUMN display_address   text NOT NULL DEFAULT '',
    ADD COLUMN internal_address  text NOT NULL DEFAULT '',
    ADD COLUMN admin_name        text NOT NULL DEFAULT '',
    ADD COLUMN admin_secret      text NOT NULL DEFAULT '',
    ADD COLUMN modules           text[] NOT NULL DEFAULT '{}',
    ADD COLUMN cpu_priority      text NOT NULL DEFAULT 'high' CHECK (cpu_priority IN ('high', 'medium', 'low')),
    ADD COLUMN read_speed        bigint NOT NULL DEFAULT 0,
    ADD COLUMN write_speed       bigint NOT NULL DEFAULT 0,
    ADD COLUMN read_iops         bigint NOT NULL DEFAULT 0,
    ADD COLUMN write_iops        bigint NOT NULL DEFAULT 0,
    ADD COLUMN receive_speed     bigint NOT NULL DEFAULT 0,
    ADD COLUMN send_speed        bigint NOT NULL DEFAULT 0,
    ADD COLUMN cpu_usage         double precision NOT NULL DEFAULT 0,
    ADD COLUMN memory_used       bigint NOT NULL DEFAULT 0,
    ADD COLUMN bytes_read        bigint NOT NULL DEFAULT 0,
    ADD COLUMN bytes_written     bigint NOT NULL DEFAULT 0,
    ADD COLUMN bytes_received    bigint NOT NULL DEFAULT 0,
    ADD COLUMN bytes_sent        bigint NOT NULL DEFAULT 0,
    ADD COLUMN operation         uuid REFERENCES operations (id) ON DELETE SET NULL;

CREATE UNIQUE INDEX guests_ethernet_address ON guests (ethernet_address);

ALTER TABLE operations ADD COLUMN acknowledged boolean NOT NULL DEFAULT false;
