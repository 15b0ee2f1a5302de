"""Readers: every input format becomes a stream of Arrow batches in the canonical `schema.RECORD`."""
