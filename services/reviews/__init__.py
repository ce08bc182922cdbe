"""Guest reviews from a review partner (R60-R64): intake (intake.py), the display rules and
figures (display.py), replies and reports (responses.py)."""
