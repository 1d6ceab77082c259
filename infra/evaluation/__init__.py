"""Evaluation of retrieval quality: datasets, metrics, baselines and the ``memos eval`` harness.

See docs/EVALUATION.md for the dataset format and metric definitions.
"""
