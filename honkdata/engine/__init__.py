"""Engines run a build's plan (plan.py): the local engine streams it on this machine (local.py)."""
