-- Which embedder made each stored vector ("<embedder>:<dim>", e.g. "static:256"); NULL for rows
-- stored before this migration. `memos reembed` rewrites rows whose embedder differs from the
-- configured one, batch by batch, and records its progress in reembed_runs (resumable).
ALTER TABLE memories ADD COLUMN embedder text;

CREATE TABLE reembed_runs (
    id           uuid        PRIMARY KEY,
    namespace    text,                    -- NULL: the whole store
    embedder     text        NOT NULL,    -- the target, "<embedder>:<dim>"
    last_id      uuid,                    -- rows are visited in id order; resume after this one
    reembedded   bigint      NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX reembed_runs_open ON reembed_runs (embedder, namespace) WHERE finished_at IS NULL;
