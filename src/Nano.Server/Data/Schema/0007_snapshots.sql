-- Snapshot trees of guests (internal qcow2 snapshots on the cell); one current snapshot per guest.

CREATE TABLE snapshots (
    guest        uuid NOT NULL REFERENCES guests (id) ON DELETE CASCADE,
    name         text NOT NULL,
    parent       text,
    is_current   boolean NOT NULL DEFAULT false,
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (guest, name),
    FOREIGN KEY (guest, parent) REFERENCES snapshots (guest, name)
);

CREATE UNIQUE INDEX snapshots_one_current ON snapshots (guest) WHERE is_current;
