"""Training curves drawn like the book's figures: training as dots, validation as a line."""

from __future__ import annotations

from pathlib import Path


def plot_history(history: dict, path: Path, title: str = "") -> Path | None:
    """One panel per metric (loss first); ``bo`` training points and a ``b`` validation line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    names = [k for k in history if not k.startswith("val_")]
    names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in history]
    names.sort(key=lambda k: (k != "loss", k))
    if not names:
        return None
    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names):
        for key, style, label in ((name, "bo", "Training"), (f"val_{name}", "b", "Validation")):
            values = history.get(key)
            if values:
                ax.plot(range(1, len(values) + 1), values, style, label=f"{label} {name}", markersize=3)
        ax.set_xlabel("Epochs")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(name)
        ax.set_title(f"{title} {name}".strip())
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_cv_curve(mean_history: dict, key: str, path: Path, skip: int = 10) -> Path | None:
    """The averaged per-epoch validation curve of K-fold runs, whole and without the first ``skip``
    epochs (the book's figures 4.9 and 4.10)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    values = mean_history.get(key)
    if not values:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, start in zip(axes, (0, min(skip, len(values) - 1))):
        ax.plot(range(start + 1, len(values) + 1), values[start:], "b")
        ax.set_xlabel("Epochs")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"{key} (mean over folds)")
        ax.set_title("all epochs" if start == 0 else f"from epoch {start + 1}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_comparison(curves: dict[str, list[float]], metric: str, path: Path) -> Path:
    """One metric's per-epoch curves from several runs on one figure (the book's solid vs dashed lines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    styles = ["-", "--", ":", "-."]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (label, values) in enumerate(curves.items()):
        ax.plot(range(1, len(values) + 1), values, styles[i % len(styles)], label=label)
    ax.set_xlabel("Epochs")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} across runs")
    ax.legend(fontsize="small")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_confusion_matrix(matrix: dict, path: Path, title: str = "") -> Path:
    """The test split's confusion matrix (``{labels, counts}``): true classes down, predicted across, counts in
    the cells, shaded by each true class's share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [str(label) for label in matrix["labels"]]
    counts = np.asarray(matrix["counts"], dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    side = min(2.0 + 0.45 * len(labels), 18.0)
    fig, ax = plt.subplots(figsize=(side, side * 0.85))
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    if len(labels) <= 30:
        for (i, j), value in np.ndenumerate(counts):
            ax.text(j, i, f"{int(value)}", ha="center", va="center", fontsize=8,
                    color="white" if shares[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=90 if len(labels) > 6 else 0)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    ax.set_title(f"{title} confusion matrix (test)".strip())
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the true class")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
