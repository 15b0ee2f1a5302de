"""Task metrics for query understanding: intents, entity spans, whole frames."""
