-- Condensation jobs leave the ingest response path (a transactional outbox): ingest records a job
-- in its transaction (condense_enqueued_turn, and condense_unsent_since = when it was recorded);
-- the process sends it to SQS after the response and clears condense_unsent_since; the scheduled
-- maintenance job re-sends jobs left unsent for a while (the process died, SQS was unreachable).
-- A job sent twice is harmless: the consumer finds its job id already done.
ALTER TABLE sessions ADD COLUMN condense_unsent_since timestamptz;
CREATE INDEX sessions_condense_unsent ON sessions (condense_unsent_since) WHERE condense_unsent_since IS NOT NULL;
