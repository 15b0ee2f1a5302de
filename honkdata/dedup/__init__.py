"""Deduplication stages: exact (on the normalized key)."""
