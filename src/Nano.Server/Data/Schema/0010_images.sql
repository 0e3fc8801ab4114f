-- The image store's records: media images (ISO) and disk images (qcow2). The file of an image is
-- <store>/<id>.<iso|qcow2>; sha256 names the version cells cache, sha1 is the checksum the API shows.
-- An image being written (an upload, a clone from a guest) is locked by the operation doing it.

CREATE TABLE images (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('media', 'disk')),
    name         text NOT NULL,
    owner        text NOT NULL,
    group_name   text NOT NULL,
    description  text NOT NULL DEFAULT '',
    tags         text[] NOT NULL DEFAULT '{}',
    created      boolean NOT NULL DEFAULT false,
    size         bigint NOT NULL DEFAULT 0,
    sha256       text NOT NULL DEFAULT '',
    sha1         text NOT NULL DEFAULT '',
    locked_by    uuid,
    operation    uuid REFERENCES operations (id) ON DELETE SET NULL,
    create_time  timestamptz NOT NULL DEFAULT now(),
    modify_time  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, group_name, name)
);

-- A guest cloned from a disk image keeps a copy-on-write overlay over it; a guest may have a media
-- image in its CD-ROM drive. Neither image can be deleted while that holds.
ALTER TABLE guests
    ADD COLUMN system_image  uuid REFERENCES images (id) ON DELETE RESTRICT,
    ADD COLUMN media_source  uuid REFERENCES images (id) ON DELETE RESTRICT;
