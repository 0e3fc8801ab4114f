-- The stream a cell's row belongs to: the agent's newest stream, written by its hello. The end of an older stream
-- disconnects the cell only while the row still names that stream, so a cell reconnecting while its old stream's
-- end is being written never looks offline, not even for a moment.
ALTER TABLE cells ADD COLUMN stream uuid;
