-- Failed logins counted for the whole zone, not per replica (Domain/LoginLimiter): one row per client address
-- ('a:<address>') and per user name ('u:<name>'), its window's start and the failures in it. Rows whose window
-- ended are deleted by the leader's sweep.
CREATE TABLE login_failures (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    failures     integer NOT NULL
);
