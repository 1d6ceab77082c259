-- `memos_forget_at` (migration 0007) as an expression PostgreSQL can inline. An IMMUTABLE SQL
-- function is inlined only when its body calls nothing less than immutable; 0007's body read
-- `extract(epoch FROM <timestamptz>)`, a STABLE function, so every statement that writes `memories`
-- (the generated `forget_at`) ran the SQL function executor and parsed the body again: ~0.04 ms of
-- server time a one-row INSERT (bench/profile_write_costs.py). `extract(epoch FROM ts AT TIME ZONE
-- 'UTC')` is the same number from immutable functions. Same results (tests/integration/test_decay.py
-- compares both bodies); the stored column is not recomputed and needs no rewrite.
CREATE OR REPLACE FUNCTION memos_forget_at(
    base real, access_count integer, created_at timestamptz, last_accessed_at timestamptz,
    occurred_at timestamptz, expires_at timestamptz, half_life real, floor real, ttl_days integer,
    ttl_from_ingest boolean
) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN half_life IS NULL THEN 'epoch'::timestamptz ELSE LEAST(
    expires_at,
    CASE WHEN ttl_days IS NOT NULL THEN to_timestamp(extract(epoch FROM
         (CASE WHEN ttl_from_ingest THEN created_at ELSE occurred_at END) AT TIME ZONE 'UTC')
         + ttl_days * 86400.0) END,
    CASE WHEN floor IS NOT NULL AND floor > 0 THEN to_timestamp(
         extract(epoch FROM GREATEST(created_at, coalesce(last_accessed_at, created_at)) AT TIME ZONE 'UTC')
         + 86400.0 * half_life * GREATEST(0.0,
             ln(GREATEST(LEAST(1.0, memos_reinforced(base, access_count)), 1e-9) / floor) / ln(2.0))) END
  ) END
$$;
