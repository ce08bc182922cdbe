"""What can be sold: the one function that takes nights (inventory), quotas, prices and
restrictions (rates), the occupancy plan (calendar), the final price (pricing, R4)."""
