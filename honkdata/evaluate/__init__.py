"""Task metrics for query understanding (intents, entity spans, whole frames, calibration, slices)
and the evaluation report."""
