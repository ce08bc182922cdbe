"""The tourist office's side: brokerage contracts and terms, what needs attention, cancellations
reported by hosts (issue 14, R20-R22)."""
