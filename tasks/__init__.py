"""Datasets, model bodies and task logic of dlwp (imported as ``dlwp_tasks``)."""
