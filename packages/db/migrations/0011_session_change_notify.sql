-- Migration 11: every change that ends a session or alters who its user is announces the user.
-- Each server process keeps the principals of recently used sessions for a few seconds, so a request
-- does not look its session up in Postgres every time. Whatever ends a session or changes what the
-- principal holds — sign-out, a password change, an admin disabling an account or changing its roles,
-- the user CLI, psql, another server replica — announces the user's id on channel `cti_sessions` when
-- it commits; every process (one LISTEN connection each) then forgets that user's cached sessions.
-- The payload '*' (a role renamed or removed) makes them forget every session. Refreshing last_seen_at
-- (once a minute per session in use) announces nothing; moving it back (ageing a session) does.
CREATE FUNCTION notify_session_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'roles' THEN
    PERFORM pg_notify('cti_sessions', '*');
  ELSIF TG_TABLE_NAME = 'users' THEN
    PERFORM pg_notify('cti_sessions', OLD.id::text);
  ELSE
    IF TG_OP <> 'INSERT' THEN PERFORM pg_notify('cti_sessions', OLD.user_id::text); END IF;
    IF TG_OP <> 'DELETE' THEN PERFORM pg_notify('cti_sessions', NEW.user_id::text); END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER sessions_notify_end
  AFTER DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION notify_session_user();

CREATE TRIGGER sessions_notify_change
  AFTER UPDATE ON sessions
  FOR EACH ROW
  WHEN (NEW.token_hash IS DISTINCT FROM OLD.token_hash OR NEW.user_id IS DISTINCT FROM OLD.user_id
        OR NEW.csrf_token IS DISTINCT FROM OLD.csrf_token OR NEW.expires_at < OLD.expires_at
        OR NEW.last_seen_at < OLD.last_seen_at)
  EXECUTE FUNCTION notify_session_user();

CREATE TRIGGER users_notify_change
  AFTER UPDATE ON users
  FOR EACH ROW
  WHEN (NEW.status IS DISTINCT FROM OLD.status OR NEW.email IS DISTINCT FROM OLD.email
        OR NEW.full_name IS DISTINCT FROM OLD.full_name OR NEW.id IS DISTINCT FROM OLD.id)
  EXECUTE FUNCTION notify_session_user();

CREATE TRIGGER user_roles_notify_change
  AFTER INSERT OR UPDATE OR DELETE ON user_roles
  FOR EACH ROW EXECUTE FUNCTION notify_session_user();

CREATE TRIGGER roles_notify_change
  AFTER UPDATE OR DELETE ON roles
  FOR EACH STATEMENT EXECUTE FUNCTION notify_session_user();
