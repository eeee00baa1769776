"""Training machinery (imports TensorFlow): inputs, strategies, callbacks and trainer modes."""
