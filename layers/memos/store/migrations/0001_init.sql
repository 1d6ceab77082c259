-- MemOS schema v1. {{EMBED_DIM}} is replaced with MEMOS_EMBED_DIM when applied.
CREATE EXTENSION IF NOT EXISTS vector;

-- L2: every memory ever ingested. Nothing is deleted by dedup or conflict handling:
-- status says whether a row is live, and duplicate_of / superseded_by link it to its winner.
CREATE TABLE memories (
    id               uuid PRIMARY KEY,
    namespace        text        NOT NULL,
    session_id       text        NOT NULL,
    turn_no          bigint      NOT NULL,           -- per-session order, assigned under the session row lock
    role             text        NOT NULL CHECK (role IN ('user', 'assistant', 'agent', 'system', 'tool')),
    kind             text        NOT NULL DEFAULT 'episodic' CHECK (kind IN ('episodic', 'semantic', 'procedural')),
    text             text        NOT NULL,
    metadata         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    occurred_at      timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    importance       real        NOT NULL DEFAULT 0.5 CHECK (importance >= 0 AND importance <= 1),
    base_importance  real        NOT NULL DEFAULT 0.5,
    access_count     integer     NOT NULL DEFAULT 0,
    last_accessed_at timestamptz,
    seen_count       integer     NOT NULL DEFAULT 1,  -- exact re-ingests folded into this row
    content_hash     text        NOT NULL,
    tokens           integer     NOT NULL,
    embedding        vector({{EMBED_DIM}}) NOT NULL,
    tsv              tsvector    GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
    status           text        NOT NULL DEFAULT 'active'
                     CHECK (status IN ('active', 'duplicate', 'superseded', 'expired', 'deleted')),
    duplicate_of     uuid REFERENCES memories (id),
    superseded_by    uuid REFERENCES memories (id),
    expires_at       timestamptz,
    version          integer     NOT NULL DEFAULT 1
);

-- Exact dedup: one live row per text within a session (episodic) or namespace (semantic, procedural).
CREATE UNIQUE INDEX memories_dedup_session ON memories (namespace, session_id, content_hash)
    WHERE status = 'active' AND kind = 'episodic';
CREATE UNIQUE INDEX memories_dedup_namespace ON memories (namespace, content_hash)
    WHERE status = 'active' AND kind <> 'episodic';
CREATE INDEX memories_session_turns ON memories (namespace, session_id, turn_no DESC);
CREATE INDEX memories_ns_recent ON memories (namespace, created_at DESC, id DESC);
CREATE INDEX memories_ns_occurred ON memories (namespace, occurred_at DESC) WHERE status = 'active';
CREATE INDEX memories_tsv ON memories USING gin (tsv);
CREATE INDEX memories_expiry ON memories (expires_at) WHERE status = 'active' AND expires_at IS NOT NULL;
-- m=8, ef_construction=32: about 4x faster inserts than the defaults (16, 64), measured in
-- docs/BENCHMARKS.md; queries raise hnsw.ef_search for recall.
CREATE INDEX memories_embedding_hnsw ON memories USING hnsw (embedding vector_cosine_ops) WITH (m = 8, ef_construction = 32);

-- Old versions of a memory (PATCH keeps history; supersede and dedup are recorded here too).
CREATE TABLE memory_versions (
    memory_id  uuid        NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    version    integer     NOT NULL,
    text       text        NOT NULL,
    metadata   jsonb       NOT NULL,
    importance real        NOT NULL,
    status     text        NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    change     text        NOT NULL,
    PRIMARY KEY (memory_id, version)
);

-- Per-session counters: turn numbering and condensation triggers.
CREATE TABLE sessions (
    namespace              text        NOT NULL,
    session_id             text        NOT NULL,
    turn_count             bigint      NOT NULL DEFAULT 0,
    token_count            bigint      NOT NULL DEFAULT 0,
    condensed_through_turn bigint      NOT NULL DEFAULT 0,
    condensed_token_count  bigint      NOT NULL DEFAULT 0,
    condense_enqueued_turn bigint      NOT NULL DEFAULT 0,
    first_at               timestamptz NOT NULL DEFAULT now(),
    last_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, session_id)
);

-- Rolling session summaries (one row per condensation job; idempotent by job id).
CREATE TABLE condensations (
    id            uuid PRIMARY KEY,
    job_id        text        NOT NULL UNIQUE,
    namespace     text        NOT NULL,
    session_id    text        NOT NULL,
    from_turn     bigint      NOT NULL,
    to_turn       bigint      NOT NULL,
    status        text        NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    summary       jsonb,
    summary_text  text,
    tokens_before integer,
    tokens_after  integer,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz
);
CREATE INDEX condensations_session ON condensations (namespace, session_id, to_turn DESC);
CREATE INDEX condensations_recent ON condensations (created_at DESC);

-- Context packs handed to agents (replayable from ops).
CREATE TABLE context_packs (
    id                uuid PRIMARY KEY,
    query_id          uuid        NOT NULL,
    namespace         text        NOT NULL,
    session_id        text,
    query             text        NOT NULL,
    pack              jsonb       NOT NULL,
    candidate_tokens  integer     NOT NULL,
    packed_tokens     integer     NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX context_packs_ns ON context_packs (namespace, created_at DESC);

-- L3: entities and relations with evidence memory ids.
CREATE TABLE entities (
    id            uuid PRIMARY KEY,
    namespace     text        NOT NULL,
    name          text        NOT NULL,
    normalized    text        NOT NULL,
    type          text        NOT NULL DEFAULT 'thing',
    aliases       text[]      NOT NULL DEFAULT '{}',
    evidence      uuid[]      NOT NULL DEFAULT '{}',
    mention_count integer     NOT NULL DEFAULT 0,
    first_seen    timestamptz NOT NULL DEFAULT now(),
    last_seen     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace, normalized)
);
CREATE TABLE relations (
    id         uuid PRIMARY KEY,
    namespace  text        NOT NULL,
    subject_id uuid        NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    predicate  text        NOT NULL,
    object_id  uuid        NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    evidence   uuid[]      NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace, subject_id, predicate, object_id)
);

-- Per-namespace policy overrides; defaults live in memos.policy.Policy.
CREATE TABLE policies (
    namespace  text PRIMARY KEY,
    settings   jsonb       NOT NULL,
    version    integer     NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- API keys, hashed (sha256 of the secret); no plaintext at rest.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    name         text        NOT NULL,
    key_hash     text        NOT NULL UNIQUE,
    prefix       text        NOT NULL,
    scopes       text[]      NOT NULL,
    namespaces   text[]      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- Every write and governance action.
CREATE TABLE audit_events (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    namespace  text,
    session_id text,
    action     text        NOT NULL,
    actor      text,
    memory_id  uuid,
    request_id text,
    details    jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_ns_at ON audit_events (namespace, at DESC, id DESC);
CREATE INDEX audit_action_at ON audit_events (action, at DESC);
