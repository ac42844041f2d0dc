"""Incident response: contain first, investigate after (audit, detection, evidence, reports come next)."""
