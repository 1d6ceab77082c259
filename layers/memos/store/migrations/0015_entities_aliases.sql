-- Two indexes served the alias match of entity lookups: `entities_aliased` (migration 0011, a btree
-- of the namespace's aliased entities) and the GIN index `entities_aliases` (migration 0012). The
-- planner reads the aliased ones through `entities_aliased` for both the query's lookup
-- (`p.name = ANY(e.aliases)`, which GIN cannot serve) and ingest's (`aliases && names`): the GIN
-- index only cost every entity insert and every entity update that is not HOT.
DROP INDEX IF EXISTS entities_aliases;
