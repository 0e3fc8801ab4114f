-- Long-running work with its progress: one row per operation.

CREATE TABLE operations (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL,
    target       text NOT NULL DEFAULT '',
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    stage        text NOT NULL DEFAULT '',
    percent      integer NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 100),
    error        text NOT NULL DEFAULT '',
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

CREATE INDEX operations_target ON operations (target);
CREATE INDEX operations_active ON operations (created_at) WHERE finished_at IS NULL;
