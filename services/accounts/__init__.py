"""Who may do what: users, passwords, sign-in throttling and sessions (users); the tenant
checks every use case runs (access)."""
