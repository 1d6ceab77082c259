-- L1 windows still to drop after a delete committed in L2 (session reset, namespace delete).
-- Written in the deleting transaction; removed once Redis confirms, retried until then.
CREATE TABLE l1_cleanups (
    namespace  text        NOT NULL,
    session_id text        NOT NULL,
    queued_at  timestamptz NOT NULL DEFAULT now(),
    attempts   integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (namespace, session_id)
);
