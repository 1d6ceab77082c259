"""Query: candidates, scoring, lexical ranking, time expressions, context packs, answers."""
