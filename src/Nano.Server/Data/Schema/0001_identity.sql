-- Identity: roles, user groups (with their resource visibility), users, sessions, operation log.

CREATE TABLE roles (
    name        text PRIMARY KEY,
    menu        text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_groups (
    name                 text PRIMARY KEY,
    display              text NOT NULL DEFAULT '',
    instance_visible     boolean NOT NULL DEFAULT false,
    media_image_visible  boolean NOT NULL DEFAULT false,
    disk_image_visible   boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now()
);

-- A role attached to a group cannot be deleted (RESTRICT); deleting a group detaches its roles.
CREATE TABLE user_group_roles (
    group_name  text NOT NULL REFERENCES user_groups (name) ON DELETE CASCADE,
    role_name   text NOT NULL REFERENCES roles (name) ON DELETE RESTRICT,
    PRIMARY KEY (group_name, role_name)
);

-- A user belongs to at most one group; a group with members cannot be deleted (RESTRICT).
CREATE TABLE users (
    name           text PRIMARY KEY,
    nick           text NOT NULL DEFAULT '',
    mail           text NOT NULL DEFAULT '',
    password_hash  text NOT NULL,
    group_name     text REFERENCES user_groups (name) ON DELETE RESTRICT,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX users_group_name ON users (group_name);

-- Deleting a user ends its sessions.
CREATE TABLE sessions (
    id          text PRIMARY KEY,
    user_name   text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    nonce       text NOT NULL DEFAULT '',
    address     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Ids are YYYYMMDDhhmmss plus a 3-digit sequence within that second; times are server local time.
CREATE TABLE operation_logs (
    id         char(17) PRIMARY KEY CHECK (id ~ '^[0-9]{17}$'),
    logged_at  timestamp NOT NULL,
    content    text NOT NULL
);

CREATE INDEX operation_logs_logged_at ON operation_logs (logged_at);
