"""Who may do what: API keys and identities, key administration, per-key rate limits."""
