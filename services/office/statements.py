"""Commission statements per property per month (R23, issue 15): rows from the room-night ledger."""
