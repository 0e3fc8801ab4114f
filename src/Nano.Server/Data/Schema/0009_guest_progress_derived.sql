-- A guest's progress is read from its running operation; the stored column was never the truth.

ALTER TABLE guests DROP COLUMN progress;
