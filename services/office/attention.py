"""What needs a person: the signals of each of an office's properties, for its home page."""
