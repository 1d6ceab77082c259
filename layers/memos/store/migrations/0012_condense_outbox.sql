-- Condensation jobs leave the ingest response path (a transactional outbox): ingest records a job
-- in its transaction (condense_enqueued_turn, and condense_unsent_since = when it was recorded);
-- the process sends it to SQS after the response and clears condense_unsent_since; the scheduled
-- maintenance job re-sends jobs left unsent for a while (the process died, SQS was unreachable).
-- A job sent twice is harmless: the consumer finds its job id already done.
ALTER TABLE sessions ADD COLUMN condense_unsent_since timestamptz;
CREATE INDEX sessions_condense_unsent ON sessions (condense_unsent_since) WHERE condense_unsent_since IS NOT NULL;

-- Ingest's L3 name lookups (memos.store.entities.send_lookups) by index instead of a scan of the
-- namespace's entities per name: first names as byte-wise prefixes of stored names (the pattern
-- operators ~>=~ / ~<~ compare bytes whatever the collation), and names among aliases.
CREATE INDEX entities_name_prefix ON entities (namespace, normalized text_pattern_ops);
CREATE INDEX entities_aliases ON entities USING gin (aliases);
