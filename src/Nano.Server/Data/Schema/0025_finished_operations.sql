-- The metrics scrape reads the operations finished since its previous read (Metrics/OperationTotals): an index on
-- finish time, for finished operations only, keeps that read from scanning every operation ever run.
CREATE INDEX operations_finished ON operations (finished_at) WHERE finished_at IS NOT NULL;
