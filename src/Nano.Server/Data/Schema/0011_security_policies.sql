-- Security policy groups (a named default action and ordered rule list to copy from) and each guest's
-- own policy, which its cell enforces as a libvirt nwfilter. Rules are an ordered JSON array.

CREATE TABLE security_policy_groups (
    id              uuid PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    description     text NOT NULL DEFAULT '',
    owner           text NOT NULL,
    group_name      text NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    global          boolean NOT NULL DEFAULT false,
    default_action  text NOT NULL CHECK (default_action IN ('accept', 'reject')),
    rules           jsonb NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE guest_security_policies (
    guest           uuid PRIMARY KEY REFERENCES guests (id) ON DELETE CASCADE,
    default_action  text NOT NULL CHECK (default_action IN ('accept', 'reject')),
    rules           jsonb NOT NULL DEFAULT '[]'
);

-- The group a guest's policy was copied from (kept when the group is deleted, as upstream).
ALTER TABLE guests ADD COLUMN security_policy_group uuid;

-- Guests created before policies existed accept everything, as a new guest without a group does.
INSERT INTO guest_security_policies (guest, default_action) SELECT id, 'accept' FROM guests;
