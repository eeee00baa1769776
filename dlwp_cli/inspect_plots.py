"""Pictures of a task's data for ``dlwp data inspect``: sample images, labels, feature histograms and
sequence lengths (matplotlib's Agg backend, as :mod:`dlwp_cli.plots`)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SAMPLES = "samples.png"
LABELS = "labels.png"
FEATURES = "features.png"
LENGTHS = "lengths.png"
HISTOGRAM_BINS = 30


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_pictures(report, folder: Path) -> list[Path]:
    """Every picture that suits the inspection, written into ``folder`` (created); their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if report.images is not None and len(report.images):
        written.append(plot_samples(report.images, report.image_titles, folder / SAMPLES))
    if any(output.values for output in report.outputs):
        written.append(plot_labels(report.outputs, folder / LABELS))
    if report.histograms:
        written.append(plot_features(report.histograms, folder / FEATURES))
    if report.length_values:
        written.append(plot_lengths(report.length_values, folder / LENGTHS))
    return written


def plot_samples(images: np.ndarray, titles: list[str], path: Path) -> Path:
    """Up to 16 examples in a 4x4 grid, gray for one channel, titled by their labels."""
    plt = _pyplot()
    fig, axes = plt.subplots(4, 4, figsize=(6, 6.5))
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i >= len(images):
            continue
        ax.imshow(_displayable(images[i]), cmap="gray" if _is_gray(images[i]) else None)
        if i < len(titles) and titles[i]:
            ax.set_title(titles[i], fontsize=9)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.95, wspace=0.1, hspace=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def _is_gray(image: np.ndarray) -> bool:
    return image.ndim == 2 or image.shape[-1] == 1


def _displayable(image: np.ndarray) -> np.ndarray:
    """2-D for one channel; colour images scaled into [0, 1] unless already uint8."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        return image[..., 0]
    if image.ndim == 3 and image.dtype != np.uint8:
        low, high = float(np.nanmin(image)), float(np.nanmax(image))
        return (image - low) / (high - low) if high > low else np.zeros_like(image, dtype=float)
    return image


def plot_labels(outputs, path: Path) -> Path:
    """One panel per output: bars of each class per split, or histograms of the target per split."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(outputs), figsize=(6.5 * len(outputs), 4), squeeze=False)
    for ax, output in zip(axes[0], outputs):
        if output.problem == "classification":
            _class_bars(ax, output)
        else:
            for split, values in output.values.items():
                values = np.asarray(values, dtype=np.float64)
                ax.hist(values[~np.isnan(values)], bins=HISTOGRAM_BINS, histtype="step", label=split)
            ax.set_xlabel(output.name)
            ax.set_ylabel("examples")
            ax.legend()
        ax.set_title(f"{output.name}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def _class_bars(ax, output) -> None:
    splits = list(output.balance)
    names = output.class_names
    width = 0.8 / max(len(splits), 1)
    positions = np.arange(len(names))
    for k, split in enumerate(splits):
        counts = [c.count for c in output.balance[split]]
        ax.bar(positions + (k - (len(splits) - 1) / 2) * width, counts, width, label=split)
    ax.set_xticks(positions)
    ax.set_xticklabels(names, rotation=90 if len(names) > 10 else 0, fontsize=8 if len(names) > 10 else 10)
    ax.set_ylabel("examples")
    ax.legend()


def plot_features(histograms: dict[str, np.ndarray], path: Path) -> Path:
    """A histogram per feature (training values, missing ones left out) in a grid of up to 4 columns."""
    plt = _pyplot()
    n = len(histograms)
    columns = min(4, n)
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, (name, values) in zip(axes.ravel(), histograms.items()):
        ax.hist(values[~np.isnan(values)], bins=HISTOGRAM_BINS, color="tab:blue")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_lengths(lengths: dict[str, np.ndarray], path: Path) -> Path:
    """Histograms of the sequence lengths per split."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for split, values in lengths.items():
        ax.hist(values, bins=HISTOGRAM_BINS * 2, histtype="step", label=split)
    ax.set_xlabel("sequence length (word ids)")
    ax.set_ylabel("sequences")
    ax.set_title("Sequence lengths")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
