-- Failover (ROUTES.md 4.1, 4.10): storage pools may also be a folder every cell already sees ("shared"),
-- and each guest has a generation, counted up whenever it moves to another cell. Its domain carries the
-- generation it was defined with, so a copy left on a cell that was failed over is known to be stale.

ALTER TABLE storage_pools DROP CONSTRAINT storage_pools_type_check;
ALTER TABLE storage_pools ADD CONSTRAINT storage_pools_type_check CHECK (type IN ('nfs', 'shared'));

ALTER TABLE guests ADD COLUMN generation bigint NOT NULL DEFAULT 1;
