"""Matching engine, precision filters, pairing and the findings they produce."""
