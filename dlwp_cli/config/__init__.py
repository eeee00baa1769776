"""Composing, validating and listing the Hydra config tree (no TensorFlow imports here)."""
