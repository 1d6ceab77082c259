-- Query speed (docs/RETRIEVAL.md, "Candidates"):
--
-- Lexical candidates come from impact-ordered postings per namespace: a query reads at most a fixed
-- number of postings per term, whatever the namespace's size. Terms are the same stemmed content
-- words BM25 ranks with (memos.kernel.text.content_terms, Chinese included); `impact` is the term's
-- BM25 frequency part in that memory (tf and length normalised), so Σ idf × impact is the memory's
-- BM25 score. Written with term_stats at ingest, removed with it when a memory is forgotten.
CREATE TABLE postings (
    namespace  text  NOT NULL,
    term       text  NOT NULL,
    impact     real  NOT NULL,
    memory_id  uuid  NOT NULL
);
CREATE UNIQUE INDEX postings_by_impact ON postings (namespace, term, impact DESC, memory_id);
-- Insert-mostly: vacuum it often so its pages are all-visible and reads stay index-only.
ALTER TABLE postings SET (autovacuum_vacuum_insert_scale_factor = 0.02);

-- Full-text ranking over every matching row is replaced by the postings: the generated tsvector and
-- its GIN index cost every insert and serve no query now.
DROP INDEX IF EXISTS memories_tsv;
ALTER TABLE memories DROP COLUMN IF EXISTS tsv;

-- Vector candidates: exact distance for a namespace small enough to scan, and a partial HNSW index
-- per large namespace (memos.store.ann), built in the background when the namespace grows past
-- MEMOS_ANN_MIN_MEMORIES. One HNSW graph over every tenant made every insert pay for the whole
-- store and every small namespace's query walk other tenants' neighbours.
DROP INDEX IF EXISTS memories_embedding_hnsw;
CREATE TABLE ann_indexes (
    namespace   text        PRIMARY KEY,
    index_name  text        NOT NULL UNIQUE,
    memories    bigint      NOT NULL,   -- live memories when it was built
    built_at    timestamptz NOT NULL DEFAULT now()
);

-- Access feedback leaves the query path: a stored context pack lists the memories it used
-- (`touched`); memos.retrieval.feedback applies the counts later in batches, exactly once.
ALTER TABLE context_packs ADD COLUMN touched uuid[];
CREATE INDEX context_packs_touch_pending ON context_packs (created_at) WHERE touched IS NOT NULL;
