-- CPU definitions (docs/cpu.md): what each cell's host can start, the pool's choice, the one each guest's domain has.
ALTER TABLE cells ADD COLUMN cpus text[] NOT NULL DEFAULT '{}';
ALTER TABLE cells ADD COLUMN cpu_signature text NOT NULL DEFAULT '';
-- '' is automatic: the fastest definition every cell of the pool starts.
ALTER TABLE compute_pools ADD COLUMN cpu text NOT NULL DEFAULT '';
ALTER TABLE guests ADD COLUMN cpu text NOT NULL DEFAULT '';
-- Until now every guest on KVM was defined with the host's own CPU.
UPDATE guests g SET cpu = 'host-passthrough' FROM cells c WHERE g.cell = c.name AND c.kvm;
