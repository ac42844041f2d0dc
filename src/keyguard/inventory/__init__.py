"""The key inventory: what keys exist, for which tool and profile — fingerprints, never secrets."""
