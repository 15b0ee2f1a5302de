"""Anonymize: pseudonymous user ids, PII scrubbed from query text, release thresholds for rare queries."""
