-- The operations table keeps every operation ever run; two reads must not scan it whole.
-- The metrics scrape reads the operations finished since its previous read (Metrics/OperationTotals): an index on
-- finish time, for finished operations only.
CREATE INDEX operations_finished ON operations (finished_at) WHERE finished_at IS NOT NULL;
-- Lists of operations are newest first with a limit (OperationRepository.ListAsync): read in that order, not sorted.
CREATE INDEX operations_newest ON operations (created_at DESC, id);
