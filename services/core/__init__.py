"""What every area stands on: transactions (db), time (clock), errors, translatable messages,
input bounds, the change log (audit) and the guarded outbound HTTP client."""
