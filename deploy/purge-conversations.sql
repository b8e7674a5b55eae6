-- Retention on the PostgreSQL tracker store: what `polkuopas conversations
-- purge` does on SQLite. Deletes every conversation whose last event is older
-- than :days days and prints how many were deleted. One statement: events a
-- Rasa server writes while it runs are not in its snapshot and stay.
--
--   docker compose -f deploy/compose.yml exec -T postgres \
--     sh -c 'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v days=90' \
--     < deploy/purge-conversations.sql
--
-- Run it daily (cron), like the SQLite purge. tests/scaleout runs it against a
-- real PostgreSQL.
\set ON_ERROR_STOP on
WITH expired AS (
  SELECT sender_id FROM events
  GROUP BY sender_id
  HAVING MAX(timestamp) < EXTRACT(EPOCH FROM now() - make_interval(days => :days))
), deleted AS (
  DELETE FROM events WHERE sender_id IN (SELECT sender_id FROM expired)
  RETURNING sender_id
)
SELECT count(DISTINCT sender_id) AS conversations_deleted FROM deleted;
