-- Replicas keep sessions and small read models in memory and follow operations other replicas run. The database tells
-- every replica what changed (LISTEN/NOTIFY), from triggers: in the same transaction as the change, so no write path can
-- forget to, a change rolled back says nothing, and the signal is delivered when the change is visible.

-- A session changed (kept alive) or went (logout, a password change's sign-out, the sweep): payload its id.
CREATE FUNCTION nano_signal_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('nano_sessions', OLD.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_signal AFTER UPDATE OR DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION nano_signal_session();

-- Users, groups, roles or their links changed: what any session may do can have changed ('*': forget every session),
-- and the read models of that table are stale (payload: the table).
CREATE FUNCTION nano_signal_identity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('nano_sessions', '*');
    PERFORM pg_notify('nano_reads', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
CREATE TRIGGER users_signal AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION nano_signal_identity();
CREATE TRIGGER user_groups_signal AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_groups FOR EACH STATEMENT EXECUTE FUNCTION nano_signal_identity();
CREATE TRIGGER user_group_roles_signal AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_group_roles FOR EACH STATEMENT EXECUTE FUNCTION nano_signal_identity();
CREATE TRIGGER roles_signal AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roles FOR EACH STATEMENT EXECUTE FUNCTION nano_signal_identity();

-- An operation moved on (progress, its end): watchers on every replica read it again. Payload: its id.
CREATE FUNCTION nano_signal_operation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('nano_operations', NEW.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER operations_signal AFTER UPDATE ON operations FOR EACH ROW EXECUTE FUNCTION nano_signal_operation();
