"""Guest cancellations through the office (R20, R21, R10 (b)): the host reports, staff cancel
free of charge, the nights are released once; a host's request that a channel cancel (R32)."""
