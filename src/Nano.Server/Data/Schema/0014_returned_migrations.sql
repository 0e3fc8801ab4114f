-- ROUTES.md 4.10: a finished or failed migration is forgotten once it has been returned (by #97 or #98).
CREATE TABLE returned_migrations (
    id           uuid PRIMARY KEY REFERENCES operations (id) ON DELETE CASCADE,
    returned_at  timestamptz NOT NULL DEFAULT now()
);
