"""The shared kernel: settings, typed errors, observability, text normalisation, token counts."""
