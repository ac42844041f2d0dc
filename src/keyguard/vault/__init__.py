"""Where secrets live: the OS keychain, or an encrypted file where there is none; `run`; redaction."""
