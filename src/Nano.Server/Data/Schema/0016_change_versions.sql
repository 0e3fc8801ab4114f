-- Changes that a cell applies are written without holding the row while the cell works: the row's version is
-- read with it, and the write succeeds only when no other change came in between (Domain/OptimisticChange).
ALTER TABLE guests ADD COLUMN settings_version bigint NOT NULL DEFAULT 0;
ALTER TABLE guest_security_policies ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE security_policy_groups ADD COLUMN rules_version bigint NOT NULL DEFAULT 0;
