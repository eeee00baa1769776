"""Samples of a language model while and after it trains: text per epoch (listing 12.7's callback) and the
final samples judged by their share of distinct words and their repeated 3-grams."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from dlwp_cli.run_folder import write_atomic
from dlwp_tasks.generative.sampling import distinct_share, repeats_trigram

BOOK_TEMPERATURES = (0.2, 0.5, 0.7, 1.0, 1.5)


def sample_block(prompt: str, temperatures: Sequence[float], texts: Sequence[str]) -> str:
    """The samples as text, one paragraph per sample under its temperature."""
    return "".join(f"== temperature {t} ==\n{text}\n\n" for t, text in zip(temperatures, texts))


class TextSamples(keras.callbacks.Callback):
    """After every ``every`` epochs (and the last), ``samples`` texts per temperature from ``prompt``: written to
    ``folder/epoch_NNN.txt`` and, with ``log_dir``, as TensorBoard text ``samples`` at that epoch."""

    def __init__(self, folder: str, prompt: str = "This movie", length: int = 50,
                 temperatures: Sequence[float] = BOOK_TEMPERATURES, samples: int = 1, every: int = 1,
                 log_dir: str | None = None, seed: int = 0):
        super().__init__()
        self.folder, self.prompt, self.length = Path(folder), str(prompt), int(length)
        self.temperatures = [float(t) for t in temperatures]
        self.samples, self.every, self.seed = int(samples), max(1, int(every)), int(seed)
        self.log_dir = log_dir
        self.writer = None
        self.epochs = None

    def on_train_begin(self, logs=None):
        self.epochs = self.params.get("epochs") if self.params else None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every and epoch + 1 != self.epochs:
            return
        temperatures = [t for t in self.temperatures for _ in range(self.samples)]
        texts, _ = self.model.generate_texts(self.prompt, temperatures, self.length, seed=self.seed + epoch)
        block = sample_block(self.prompt, temperatures, texts)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / f"epoch_{epoch + 1:03d}.txt", block)
        if self.log_dir:
            import tensorflow as tf

            if self.writer is None:
                self.writer = tf.summary.create_file_writer(self.log_dir)
            with self.writer.as_default():
                tf.summary.text("samples", block.replace("\n", "  \n"), step=epoch + 1)
            self.writer.flush()


def sampling_report(model, data, splits, cfg, run_dir: Path, prompt: str = "This movie", length: int = 50,
                    temperatures: Sequence[float] = BOOK_TEMPERATURES, samples: int = 5, seed: int = 0) -> dict:
    """``samples`` texts per temperature from the trained model, in ``samples.txt``; per temperature the mean share
    of distinct generated words and the share of samples that repeat a 3-gram (``text_samples`` in metrics.json)."""
    temperatures = [float(t) for t in temperatures]
    rows = [t for t in temperatures for _ in range(int(samples))]
    texts, _ = model.generate_texts(prompt, rows, int(length), seed=seed)
    write_atomic(Path(run_dir) / "samples.txt", sample_block(prompt, rows, texts))
    prompt_words = len(prompt.split())
    by_temperature = []
    for t in temperatures:
        generated = [text.split()[prompt_words:] for row, text in zip(rows, texts) if row == t]
        by_temperature.append({
            "temperature": t,
            "distinct_share": float(np.mean([distinct_share(words) for words in generated])),
            "repeats_trigram_share": float(np.mean([repeats_trigram(words) for words in generated])),
        })
    return {"text_samples": {"prompt": prompt, "length": int(length), "samples": int(samples),
                             "by_temperature": by_temperature}}
