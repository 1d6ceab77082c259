"""One memory's life: ingest (dedup, conflicts, importance), CRUD and history, sessions, namespaces."""
