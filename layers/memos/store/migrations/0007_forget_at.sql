-- Decay without rewriting the store: each memory keeps what does not change (base importance,
-- access count, last access, and the decay policy it is under), and `forget_at` -- when its
-- current importance falls below the floor or its TTL runs out -- is derived from them, stored and
-- indexed. The decay job reads `WHERE status = 'active' AND forget_at <= now()`: its cost is the
-- rows it forgets. The Python mirror of the formula is memos.memory.importance (keep them equal).
ALTER TABLE memories ADD COLUMN decay_half_life real;    -- days; NULL = not yet planned (rows from before 0007)
ALTER TABLE memories ADD COLUMN decay_floor real;        -- expires below this importance; NULL = kind does not decay
ALTER TABLE memories ADD COLUMN ttl_days integer;        -- the policy's TTL for the kind; NULL = none
ALTER TABLE memories ADD COLUMN ttl_from_ingest boolean NOT NULL DEFAULT false;  -- TTL counts from ingestion, not occurred_at

-- Importance right after the last access: access raises the base towards 0.9 with diminishing
-- returns (n accesses close n / (n + 10) of the gap). memos.memory.importance.reinforced.
CREATE FUNCTION memos_reinforced(base real, access_count integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN access_count <= 0 OR base >= 0.9 THEN base::float8
              ELSE base + (0.9 - base) * access_count / (access_count + 10.0) END
$$;

-- When the memory is forgotten: the earliest of its explicit expiry, its TTL, and the time its
-- importance (reinforced, halving every half-life from the later of ingestion and last access)
-- crosses the floor. The epoch (1970-01-01) for a row not yet planned (the decay job plans it
-- first), NULL for never (no infinities: clients cannot load them as datetimes). Epoch arithmetic does not depend on the session's time zone, so this is
-- immutable (a generated column needs that).
CREATE FUNCTION memos_forget_at(
    base real, access_count integer, created_at timestamptz, last_accessed_at timestamptz,
    occurred_at timestamptz, expires_at timestamptz, half_life real, floor real, ttl_days integer,
    ttl_from_ingest boolean
) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN half_life IS NULL THEN 'epoch'::timestamptz ELSE LEAST(
    expires_at,
    CASE WHEN ttl_days IS NOT NULL THEN to_timestamp(extract(epoch FROM
         CASE WHEN ttl_from_ingest THEN created_at ELSE occurred_at END) + ttl_days * 86400.0) END,
    CASE WHEN floor IS NOT NULL AND floor > 0 THEN to_timestamp(
         extract(epoch FROM GREATEST(created_at, coalesce(last_accessed_at, created_at)))
         + 86400.0 * half_life * GREATEST(0.0,
             ln(GREATEST(LEAST(1.0, memos_reinforced(base, access_count)), 1e-9) / floor) / ln(2.0))) END
  ) END
$$;

ALTER TABLE memories ADD COLUMN forget_at timestamptz GENERATED ALWAYS AS (memos_forget_at(
    base_importance, access_count, created_at, last_accessed_at, occurred_at, expires_at,
    decay_half_life, decay_floor, ttl_days, ttl_from_ingest)) STORED;

CREATE INDEX memories_forget_at ON memories (forget_at) WHERE status = 'active';
