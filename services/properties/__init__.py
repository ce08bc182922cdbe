"""Hosts and their properties: creation, contract, room categories, mandatory costs
(registry); the demo data set (demo)."""
