"""Dataset loaders: local data directory first, then the Keras cache, then download."""
