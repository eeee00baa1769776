"""Hydra sweeps: objective, up-front checks, launchers, resuming a sweep."""
