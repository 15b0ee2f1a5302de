"""The nightly cycle: new logs -> snapshot -> challenger -> gate -> champion -> delivery (run.py)."""
