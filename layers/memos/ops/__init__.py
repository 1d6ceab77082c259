"""Ops reads: figures, pipeline, audit pages, health — measured from the store, Redis and the queue."""
