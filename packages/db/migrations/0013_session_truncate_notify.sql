-- Migration 13: TRUNCATE announces too. Migration 0011's row triggers do not fire on TRUNCATE, so
-- `TRUNCATE sessions` (or user_roles, users, roles — CASCADE reaches the others) from psql or a
-- script ended no cached session: every server process kept answering for the sessions and roles it
-- had cached, for its whole cache lifetime. A truncate names no user: it announces '*' (forget all).
CREATE FUNCTION notify_session_everyone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cti_sessions', '*');
  RETURN NULL;
END $$;

CREATE TRIGGER sessions_notify_truncate AFTER TRUNCATE ON sessions
  FOR EACH STATEMENT EXECUTE FUNCTION notify_session_everyone();
CREATE TRIGGER users_notify_truncate AFTER TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION notify_session_everyone();
CREATE TRIGGER user_roles_notify_truncate AFTER TRUNCATE ON user_roles
  FOR EACH STATEMENT EXECUTE FUNCTION notify_session_everyone();
CREATE TRIGGER roles_notify_truncate AFTER TRUNCATE ON roles
  FOR EACH STATEMENT EXECUTE FUNCTION notify_session_everyone();
