-- Conflict keys for semantic facts, and a record of decay runs (resumable by cursor).
ALTER TABLE memories ADD COLUMN fact_key text;
CREATE INDEX memories_fact_key ON memories (namespace, fact_key) WHERE status = 'active' AND fact_key IS NOT NULL;

CREATE TABLE decay_runs (
    id          uuid PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    cursor_id   uuid,
    scanned     bigint      NOT NULL DEFAULT 0,
    decayed     bigint      NOT NULL DEFAULT 0,
    expired     bigint      NOT NULL DEFAULT 0,
    status      text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed'))
);
CREATE INDEX decay_runs_recent ON decay_runs (started_at DESC);

-- Facts and procedures are few per namespace: near-duplicate checks scan them exactly.
CREATE INDEX memories_ns_facts ON memories (namespace) WHERE status = 'active' AND kind <> 'episodic';

-- The speaker's name is part of what a turn is about ("What did Ana say ...?").
DROP INDEX memories_tsv;
ALTER TABLE memories DROP COLUMN tsv;
ALTER TABLE memories ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
    to_tsvector('english', coalesce(metadata->>'speaker', '') || ' ' || text)) STORED;
CREATE INDEX memories_tsv ON memories USING gin (tsv);

-- Per-namespace term statistics for BM25 (document frequency of each stemmed content term).
CREATE TABLE term_stats (
    namespace text   NOT NULL,
    term      text   NOT NULL,
    df        bigint NOT NULL,
    PRIMARY KEY (namespace, term)
);
CREATE TABLE namespace_stats (
    namespace   text PRIMARY KEY,
    docs        bigint NOT NULL DEFAULT 0,
    total_terms bigint NOT NULL DEFAULT 0
);

-- Room on each page for importance and status updates (decay) to stay HOT where they can.
ALTER TABLE memories SET (fillfactor = 85);
