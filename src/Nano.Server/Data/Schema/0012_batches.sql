-- Batch tasks (#99-#104): each is an operation (same id) with one item per guest and its own status.

CREATE TABLE batch_items (
    batch     uuid NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    position  integer NOT NULL,
    name      text NOT NULL DEFAULT '',
    guest     uuid,
    status    text NOT NULL,
    error     text NOT NULL DEFAULT '',
    PRIMARY KEY (batch, position)
);
