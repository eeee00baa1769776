"""The dlwp config tree (Hydra)."""
