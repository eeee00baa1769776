"""dlwp: config-driven Keras experiments, starting with Deep Learning with Python (2nd ed.)."""

__version__ = "0.1.0"
