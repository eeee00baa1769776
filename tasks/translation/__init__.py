"""Translation (§11.5): token codecs, greedy decoding, BLEU, the run's samples report and ``dlwp predict``."""
