"""Reusable model pieces of the training recipes (torch modules, collators, decoders)."""
