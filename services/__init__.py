"""The portal's domain: models and use cases. Nothing here imports Flask."""
