-- Failover and live migration (ROUTES.md 4.1, 4.10): storage pools may also be a folder every cell already
-- sees ("shared"); each guest has a generation, counted up whenever it moves to another cell (its domain
-- carries the generation it was defined with, so a copy left on a cell that was failed over is known to be
-- stale); cells announce the libvirt URI other cells reach them at for live migration; and a cell that said
-- goodbye (stopped in order) is departed until it rejoins: its guests are lost, not failed over.

ALTER TABLE storage_pools DROP CONSTRAINT storage_pools_type_check;
ALTER TABLE storage_pools ADD CONSTRAINT storage_pools_type_check CHECK (type IN ('nfs', 'shared'));

ALTER TABLE guests ADD COLUMN generation bigint NOT NULL DEFAULT 1;

ALTER TABLE cells ADD COLUMN migration_uri text NOT NULL DEFAULT '';
ALTER TABLE cells ADD COLUMN departed boolean NOT NULL DEFAULT false;
