"""Renders findings (text, json, sarif) and filters accepted ones (baseline, inline allow)."""
