"""MemOS domain: memory models, L1/L2/L3 stores, retrieval, governance. No Lambda event shapes here."""

__version__ = "0.1.0"
