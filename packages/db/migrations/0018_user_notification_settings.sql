-- Migration 18: per-user notification settings (issue 12: a farmer is "read-only except their own
-- notifications and settings").
--
-- Until now every event went to its whole audience: every graded scan to every user of the farm
-- (hundreds a day on a busy farm), failures and device episodes to every admin and technician who may
-- see them. A user now says, per notification type, whether they receive it.
--
-- One row per (user, type) that the user set; NO ROW MEANS ENABLED, so nobody loses a notice by
-- upgrading and a type added later reaches everyone until they turn it off. notifyUsers
-- (apps/server/src/notifications/notify-users.ts) skips a recipient whose row for the type says
-- enabled = false, in the INSERT … SELECT that writes the notifications, so every sender obeys it and
-- nothing is hidden afterwards. The types are the code's (notification-types.ts), checked by the API;
-- the column only refuses what cannot be a type name, so a new type needs no migration.
--
-- A table rather than a jsonb column on users: the insert looks a setting up by its primary key
-- (user_id, type) for each recipient, and changing a setting never rewrites (or locks) the users row
-- that sign-in and the session cache read. ON DELETE CASCADE: the settings are the user's own, like
-- their sessions.
CREATE TABLE user_notification_settings(
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  type text NOT NULL,
  enabled boolean NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, type),
  CONSTRAINT user_notification_settings_type_name CHECK (type ~ '^[a-z][a-z0-9_]{0,63}$')
);
