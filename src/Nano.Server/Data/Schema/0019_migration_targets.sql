-- Where a migration or failover is taking a guest. A server that stops half-way learns from it which cell to ask
-- whether the guest arrived (GuestRecovery): the move is then finished there, or undone back to the cell it left.
ALTER TABLE guests ADD COLUMN migrating_to text;
