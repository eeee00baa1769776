"""Ensembles of finished runs and model export."""
