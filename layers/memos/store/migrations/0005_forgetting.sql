-- Forgetting: a forgotten memory's row stays as a tombstone (id, times, who forgot it, its content
-- hash) with its text, metadata and embedding wiped; see memos.memory.forget.
ALTER TABLE memories ADD COLUMN forgotten_at timestamptz;
ALTER TABLE memories ADD COLUMN forgotten_by text;

-- Access audit: "who read this memory" (GET /v1/memories/{id}/history) looks ids up here.
CREATE INDEX audit_memory_ids ON audit_events USING gin ((details -> 'memory_ids'));
