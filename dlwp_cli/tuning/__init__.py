"""KerasTuner search (dlwp tune, trainer=keras_tuner)."""
