"""The shared kernel: settings, typed errors, observability, text normalisation, token counts, lazily made process-wide objects."""
