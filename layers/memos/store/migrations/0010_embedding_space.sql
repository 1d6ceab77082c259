-- Which embedder the vectors in memories.embedding belong to, and a dimension change in progress
-- (memos.embeddings.space, memos.embeddings.reembed). One row.
CREATE TABLE embedding_space (
    id           boolean     PRIMARY KEY DEFAULT true CHECK (id),
    dim          integer     NOT NULL,   -- the dimension memories.embedding is declared with
    first_dim    integer     NOT NULL,   -- the one 0001 declared (its checksum was taken with it)
    active       text,                   -- "<embedder>:<dim>" of those vectors; NULL: not recorded yet
    target       text,                   -- a change in progress fills memories.embedding_next with it
    started_at   timestamptz,
    switched_at  timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO embedding_space (dim, first_dim, active)
SELECT a.atttypmod, a.atttypmod,
       (SELECT embedder FROM memories WHERE embedder LIKE '%:' || a.atttypmod
        GROUP BY embedder ORDER BY count(*) DESC LIMIT 1)
FROM pg_attribute a WHERE a.attrelid = 'memories'::regclass AND a.attname = 'embedding';

-- During a change: a row whose vector changes (edited text, forgotten) loses its shadow vector,
-- so the change makes it again from the row as it is now. Attached only while a change runs.
CREATE FUNCTION memories_shadow_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.embedding_next := NULL;
    NEW.embedder_next := NULL;
    RETURN NEW;
END
$$;
