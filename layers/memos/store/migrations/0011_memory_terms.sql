-- Query speed (docs/RETRIEVAL.md, "What the query reads"): each memory's stemmed content terms,
-- written with its postings at ingest (memos.retrieval.lexical.record_terms), so scoring reads the
-- candidates' terms with the candidates instead of tokenising their texts on every query. The
-- distinct terms are what the lexical component (IDF coverage) reads; postings hold the same
-- terms, so the memories stored before this migration get theirs from their postings. Removed
-- with the postings when a memory is forgotten; a hard-deleted memory takes its row with it.
CREATE TABLE memory_terms (
    memory_id  uuid    PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
    terms      text[]  NOT NULL
);
INSERT INTO memory_terms (memory_id, terms)
SELECT p.memory_id, array_agg(p.term ORDER BY p.term) FROM postings p
WHERE EXISTS (SELECT 1 FROM memories m WHERE m.id = p.memory_id)
GROUP BY p.memory_id;

-- The query's entity lookup (memos.store.entities.known, by normalized name or by alias) read every
-- entity of the store to match aliases. Few entities have aliases (a person's first name, once the
-- full name is known): with this index the alias match reads only the namespace's aliased ones.
CREATE INDEX entities_aliased ON entities (namespace) WHERE aliases <> '{}';
