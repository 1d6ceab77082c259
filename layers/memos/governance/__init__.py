"""Background governance: condensation (trigger, consumer, summarizer), L3 entities, decay, policy, PII."""
