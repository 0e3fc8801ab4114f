-- The zone's identity, made once per database. Cells stamp it on every domain they define (Welcome.zone), so a zone
-- never takes another zone's domain on a shared host for one of its own.
CREATE TABLE zone_identity (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    id         uuid NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO zone_identity DEFAULT VALUES;

-- Guests whose creation the server gave up on while their cell did not answer: the row is gone by decision, so the
-- domain the cell may still report for them is removed when it rejoins (and the entry with it).
CREATE TABLE abandoned_guests (
    id            uuid PRIMARY KEY,
    cell          text NOT NULL,
    abandoned_at  timestamptz NOT NULL DEFAULT now()
);

-- Domains of this zone that a cell reported with no guest row and no abandonment: kept with their files, listed for
-- administrators (ListUnknownDomains) until one removes them or the cell stops reporting them.
CREATE TABLE unknown_domains (
    cell         text NOT NULL,
    guest        uuid NOT NULL,
    name         text NOT NULL,
    state        text NOT NULL,
    generation   bigint NOT NULL,
    reported_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cell, guest)
);
