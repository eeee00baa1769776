"""Model bodies. Each is a dataclass (its fields are the config schema) with ``build``.

A body declares the input kinds it accepts (``vector``, ``image``); the task supplies
the input shape and the output head, so one body serves several tasks.
"""
