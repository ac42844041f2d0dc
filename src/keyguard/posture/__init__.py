"""What a key may do and whether it should: verification, verdicts, (later) profiles."""
