-- Graph inserts leave the write path (docs/RETRIEVAL.md, "The graph backlog"). A namespace's HNSW
-- index (memos.store.ann) now holds the rows created before its watermark, `graph_through`, and the
-- rows background maintenance has moved in since (`in_graph`): its predicate is
-- `namespace = '<ns>' AND (in_graph OR created_at < '<graph_through>')`. A row written after the
-- build matches neither, so its insert pays no graph insert; until maintenance moves it in, the
-- query finds it by exact distance over the namespace's backlog (the rows matching neither, found
-- through the partial btree index below). The column's constant default needs no table rewrite.
ALTER TABLE memories ADD COLUMN in_graph boolean NOT NULL DEFAULT false;
CREATE INDEX memories_graph_backlog ON memories (namespace, created_at) WHERE NOT in_graph;

-- NULL: an index built before this migration (predicate `namespace = '<ns>'`, every row in the
-- graph at insert); queries use it as before and maintenance rebuilds it with a watermark.
ALTER TABLE ann_indexes ADD COLUMN graph_through timestamptz;
