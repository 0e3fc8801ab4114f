-- Issue 16: cells write their heartbeats and figures, and their guests' usage, every few seconds (thousands of rows a
-- second in a large zone). None of those columns is indexed, so PostgreSQL can rewrite such a row in its own page
-- (a HOT update: no index entries, no page elsewhere) when the page has room. Pages of these tables are now filled to
-- part of their size only, leaving that room. (Applies to pages written from now on; existing ones gain it as rows
-- are rewritten.)
ALTER TABLE cells SET (fillfactor = 50);
ALTER TABLE guests SET (fillfactor = 70);
