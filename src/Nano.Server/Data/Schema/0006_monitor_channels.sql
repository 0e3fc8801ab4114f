-- One-shot console channels: opened once, within their lifetime (ROUTES.md 4.12).

CREATE TABLE monitor_channels (
    id          uuid PRIMARY KEY,
    guest       uuid NOT NULL REFERENCES guests (id) ON DELETE CASCADE,
    address     text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used        boolean NOT NULL DEFAULT false
);

CREATE INDEX monitor_channels_expires_at ON monitor_channels (expires_at);
