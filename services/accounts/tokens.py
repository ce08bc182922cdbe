"""One-time links to set a password: invitations (72 hours) and resets; stored hashed, single use."""
