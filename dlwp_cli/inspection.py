"""What a task's data looks like before training (the book's "understand the data", ch. 6).

Split sizes, class balance or the target's distribution, missing values, input shapes and dtypes,
word-id sequence lengths, and single features that give the label away on the training data (a
leakage hint). Pure numpy: a split's inputs are an array, a dict of named arrays (a table's columns,
strings too) or word-id ``Sequences``; labels are class ids, one-hot rows or values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlwp_tasks.datasets.base import Sequences

SPLITS = ("train", "validation", "test")
MAX_BINS = 32              # bins (or distinct values) a single feature may split the rows into
MIN_ROWS_PER_BIN = 10      # fewer bins on small data, so that a bin's majority means something
LEAK_SCORE = 0.99          # accuracy (classification) or |r| (regression) that a single feature must reach
EDGE_SAMPLE = 10000        # rows the quantile edges are taken from
FEATURE_CHUNK = 64         # features binned and counted at once
INTEGER_TABLE = 1 << 16    # integer features spanning at most this many values are binned by a lookup table
PLOTTED_FEATURES = 16
SAMPLE_IMAGES = 16
MAX_CLASSES_GUESSED = 20   # integer labels with at most this many values are classes, if nothing else says
MISSING_CELLS = ("", "na", "nan", "null", "<missing>")   # as the table dataset reads cells, and its filler


@dataclass
class Distribution:
    """Summary statistics of a set of numbers (NaN counted apart)."""

    count: int
    missing: int
    min: float
    q1: float
    median: float
    q3: float
    max: float
    mean: float
    std: float


@dataclass
class ClassCount:
    name: str
    count: int
    share: float


@dataclass
class Leak:
    """A feature that alone predicts an output on the training data."""

    output: str
    feature: str
    score: float
    measure: str         # "accuracy", "|r|" or "eta"
    baseline: float      # accuracy of always answering the majority class (classification), else 0


@dataclass
class InputSummary:
    name: str
    shape: str           # per example
    dtype: str
    detail: str


@dataclass
class OutputReport:
    """One output's labels: class balance (classification) or value distribution (regression), per split."""

    name: str
    problem: str
    balance: dict[str, list[ClassCount]] = field(default_factory=dict)
    targets: dict[str, Distribution] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)   # per split, for the label picture
    multi_label: bool = False
    class_names: list[str] = field(default_factory=list)   # shown for each class
    classes: list[Any] = field(default_factory=list)       # the label values the names stand for


@dataclass
class Inspection:
    """Everything ``dlwp data inspect`` prints and draws."""

    task: str
    sizes: dict[str, int]
    outputs: list[OutputReport]
    inputs: list[InputSummary]
    missing: dict[str, dict[str, int]]          # feature -> split -> missing cells (features with any)
    missing_cells: dict[str, int]               # split -> cells looked at
    lengths: dict[str, Distribution] | None     # word-id sequences: length per split
    leaks: list[Leak] | None                    # None: not checked (see leak_note)
    leak_note: str
    columns: list[dict[str, Any]] | None = None  # table tasks: name, type, encoding, empty cells in the file
    file_rows: int | None = None
    notes: list[str] = field(default_factory=list)
    images: np.ndarray | None = None            # up to 16 training examples, (n, H, W) or (n, H, W, C)
    image_titles: list[str] = field(default_factory=list)
    histograms: dict[str, np.ndarray] = field(default_factory=dict)  # feature name -> training values
    length_values: dict[str, np.ndarray] = field(default_factory=dict)


# ----------------------------------------------------------------------------- sizes and labels

def count_examples(x) -> int:
    """Examples in a split's inputs (array, Sequences, or a dict of them)."""
    if isinstance(x, dict):
        return count_examples(next(iter(x.values()))) if x else 0
    return len(x)


def distribution(values: np.ndarray) -> Distribution:
    """Count, NaN count, min, quartiles, max, mean and std (population) of numbers."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    present = flat[~np.isnan(flat)]
    if len(present) == 0:
        nan = float("nan")
        return Distribution(0, len(flat), nan, nan, nan, nan, nan, nan, nan)
    q1, median, q3 = np.percentile(present, [25, 50, 75])
    return Distribution(len(present), len(flat) - len(present), float(present.min()), float(q1), float(median),
                        float(q3), float(present.max()), float(present.mean()), float(present.std()))


def is_one_hot(y: np.ndarray) -> bool:
    """A 2-D 0/1 array with exactly one 1 per row (and more than one column)."""
    if y.ndim != 2 or y.shape[1] < 2 or y.dtype.kind not in "biuf":
        return False
    return bool(np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1))


def is_multi_label(y: np.ndarray) -> bool:
    """A 2-D 0/1 array with several columns, not one-hot (several classes per example)."""
    return y.ndim == 2 and y.shape[1] > 1 and y.dtype.kind in "biuf" and not is_one_hot(y) \
        and bool(np.all((y == 0) | (y == 1)))


def label_vector(y) -> np.ndarray:
    """One label per example: class ids from one-hot rows, the single column of an (N, 1) array; every pixel of
    per-pixel masks (N, H, W[, 1]); every token of per-token ids (N, L), as a translation's targets."""
    y = np.asarray(y)
    if y.ndim > 2:
        return y.reshape(-1)
    if is_one_hot(y):
        return y.argmax(axis=1)
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0]
    if y.ndim == 2 and y.dtype.kind in "iu" and not is_multi_label(y):
        return y.reshape(-1)
    return y


def infer_problem(declared: str | None, loss: str | None, metrics: list[str], y: np.ndarray) -> str:
    """classification or regression: as declared, else by the loss and metrics, else by the values."""
    if declared in ("classification", "regression"):
        return declared
    loss = str(loss or "").lower()
    if "crossentropy" in loss or "hinge" in loss or any("accuracy" in str(m).lower() for m in metrics):
        return "classification"
    if loss and loss != "auto":
        return "regression"
    y = np.asarray(y)
    if y.dtype.kind in "OUSb" or is_one_hot(y):
        return "classification"
    finite = y[np.isfinite(y)] if y.dtype.kind == "f" else y
    whole = finite.dtype.kind in "iu" or bool(np.all(np.mod(finite, 1) == 0))
    return "classification" if whole and len(np.unique(finite)) <= MAX_CLASSES_GUESSED else "regression"


def class_ids(labels: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """(class index per example, the class values in order): integers as they are, anything else sorted."""
    labels = label_vector(labels)
    if labels.dtype.kind in "iub" or (labels.dtype.kind == "f" and np.all(np.mod(labels, 1) == 0)):
        ints = labels.astype(np.int64)
        if len(ints) and ints.min() >= 0:
            return ints, list(range(int(ints.max()) + 1))
    values, inverse = np.unique(labels.astype(str) if labels.dtype.kind == "O" else labels, return_inverse=True)
    return inverse.ravel(), values.tolist()


def class_index(labels: np.ndarray, classes: list[Any]) -> np.ndarray:
    """Position in ``classes`` (as :func:`class_ids` orders them) of each label."""
    labels = label_vector(labels)
    if classes == list(range(len(classes))):
        return labels.astype(np.int64)
    return np.searchsorted(np.asarray(classes), labels.astype(str) if labels.dtype.kind == "O" else labels)


def class_balance(labels: np.ndarray, names: list[str], classes: list[Any]) -> list[ClassCount]:
    """Count and share of each class, by name; classes absent from the split count 0. Multi-label rows
    count once for every class they hold."""
    labels = np.asarray(labels)
    if is_multi_label(labels):
        counts = labels.sum(axis=0).astype(np.int64)
    else:
        counts = np.bincount(class_index(labels, classes), minlength=len(names))
    total = max(int(counts.sum()), 1)
    return [ClassCount(name, int(count), int(count) / total) for name, count in zip(names, counts)]


def class_names_of(ys: list[np.ndarray], class_names: list[str] | None) -> tuple[list[str], list[Any]]:
    """(display name of each class, class values) over all splits: the dataset's names where given."""
    if any(is_multi_label(np.asarray(y)) for y in ys):
        width = max(np.asarray(y).shape[1] for y in ys)
        classes = list(range(max(width, len(class_names or []))))
    else:
        _, classes = class_ids(np.concatenate([label_vector(y) for y in ys]))
        if class_names and classes == list(range(len(classes))):
            classes = list(range(max(len(classes), len(class_names))))
    names = [class_names[i] if class_names and isinstance(c, int) and i < len(class_names) else str(c)
             for i, c in enumerate(classes)]
    return names, classes


def output_report(name: str, problem: str, ys: dict[str, np.ndarray], class_names: list[str] | None
                  ) -> OutputReport:
    """Class balance or target distribution of one output over the splits present."""
    report = OutputReport(name, problem)
    ys = {split: np.asarray(y) for split, y in ys.items()}
    report.multi_label = problem == "classification" and any(is_multi_label(y) for y in ys.values())
    if problem == "classification" and ys:
        report.class_names, report.classes = class_names_of(list(ys.values()), class_names)
    for split, y in ys.items():
        if problem == "classification":
            report.balance[split] = class_balance(y, report.class_names, report.classes)
        else:
            report.targets[split] = distribution(label_vector(y))
        report.values[split] = y if report.multi_label else label_vector(y)
    return report


# ----------------------------------------------------------------------------- inputs

@dataclass
class Block:
    """One input flattened to (examples, features); ``name`` is empty for a single unnamed array."""

    name: str
    values: np.ndarray

    @property
    def categorical(self) -> bool:
        return self.values.dtype.kind in "OUS"

    def feature_name(self, j: int) -> str:
        if not self.name:
            return f"feature {j}"
        return self.name if self.values.shape[1] == 1 else f"{self.name}[{j}]"


def feature_blocks(x) -> list[Block]:
    """The inputs as 2-D blocks of features (word-id sequences have none)."""
    if isinstance(x, dict):
        return [Block(str(name), _flat(value)) for name, value in x.items() if not isinstance(value, Sequences)]
    if isinstance(x, Sequences):
        return []
    return [Block("", _flat(x))]


def _flat(values) -> np.ndarray:
    values = np.asarray(values)
    return values.reshape(len(values), int(np.prod(values.shape[1:])))


def input_summaries(x) -> list[InputSummary]:
    """Per-example shape, dtype and value range (or sequence lengths) of each input."""
    named = x.items() if isinstance(x, dict) else [("x", x)]
    return [_input_summary(str(name), value) for name, value in named]


def _input_summary(name: str, value) -> InputSummary:
    if isinstance(value, Sequences):
        lengths = distribution(value.lengths())
        top = int(value.values.max()) if len(value.values) else 0
        return InputSummary(name, "(length,)", f"word ids ({value.values.dtype})",
                            f"lengths {lengths.min:.0f}-{lengths.max:.0f} (median {lengths.median:.0f}), "
                            f"ids up to {top}")
    value = np.asarray(value)
    shape = "(" + ", ".join(str(d) for d in value.shape[1:]) + ("," if value.ndim == 2 else "") + ")"
    if value.dtype.kind in "OUS":
        distinct = len(np.unique(value.astype(str)))
        return InputSummary(name, shape, "str" if value.dtype.kind == "O" else str(value.dtype),
                            f"{distinct} distinct values")
    if value.size == 0:
        return InputSummary(name, shape, str(value.dtype), "empty")
    if value.dtype.kind == "f" and np.isnan(value).all():
        return InputSummary(name, shape, str(value.dtype), "all missing")
    low, high = (np.nanmin(value), np.nanmax(value)) if value.dtype.kind == "f" else (value.min(), value.max())
    return InputSummary(name, shape, str(value.dtype), f"values {_number(low)} to {_number(high)}")


def _number(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"


def missing_counts(blocks: list[Block]) -> dict[str, int]:
    """Missing cells per feature that has any: NaN in numbers, empty/NA/``<missing>`` in strings."""
    found: dict[str, int] = {}
    for block in blocks:
        counts = _missing_mask(block.values).sum(axis=0)
        for j in np.flatnonzero(counts):
            found[block.feature_name(int(j))] = int(counts[j])
    return found


def _missing_mask(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind in "OUS":
        cells = np.char.lower(np.char.strip(values.astype(str)))
        return np.isin(cells, MISSING_CELLS) | np.equal(values, None)
    return np.zeros(values.shape, dtype=bool)


def image_like(x, image_declared: bool) -> np.ndarray | None:
    """The examples as images: 2-D per example, 3-D with 1, 3 or 4 channels, or a square vector when the
    task offers an image input; else None."""
    if isinstance(x, (dict, Sequences)):
        return None
    x = np.asarray(x)
    if x.ndim == 3 or (x.ndim == 4 and x.shape[-1] in (1, 3, 4)):
        return x
    side = int(round(np.sqrt(x.shape[1]))) if x.ndim == 2 else 0
    if image_declared and side > 1 and side * side == x.shape[1]:
        return x.reshape(len(x), side, side)
    return None


def plotted_features(blocks: list[Block], limit: int = PLOTTED_FEATURES) -> dict[str, np.ndarray]:
    """Up to ``limit`` numeric features for histograms: all if few, else the most varied ones."""
    numeric = [block for block in blocks if not block.categorical]
    if sum(block.values.shape[1] for block in numeric) > limit:
        sample = _row_sample(len(numeric[0].values))
        spread = np.concatenate([_column_std(block.values[sample]) for block in numeric])
        chosen = set(np.argsort(-spread, kind="stable")[:limit].tolist())
    else:
        chosen = None
    features, position = {}, 0
    for block in numeric:
        for j in range(block.values.shape[1]):
            if chosen is None or position in chosen:
                features[block.feature_name(j)] = block.values[:, j].astype(np.float64)
            position += 1
    return features


def _column_std(values: np.ndarray) -> np.ndarray:
    """Standard deviation of each column, ignoring NaN (0 for a column without values)."""
    values = values.astype(np.float64)
    present = ~np.isnan(values)
    counts = np.maximum(present.sum(axis=0), 1)
    filled = np.where(present, values, 0.0)
    means = filled.sum(axis=0) / counts
    return np.sqrt((np.where(present, values - means, 0.0) ** 2).sum(axis=0) / counts)


def _row_sample(n: int, size: int = EDGE_SAMPLE) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, size=size, replace=False))


# ----------------------------------------------------------------------------- leakage

def max_bins(n: int) -> int:
    """Bins per feature for ``n`` rows: at most 32, at least 2, about 10 rows per bin."""
    return int(min(MAX_BINS, max(2, n // MIN_ROWS_PER_BIN)))


def category_codes(values: np.ndarray, bins: int) -> np.ndarray:
    """Codes of a string column: its ``bins - 1`` most frequent values each, the rarer ones together
    (so an ID column falls into one big bin of the rest)."""
    _, inverse, counts = np.unique(values.astype(str), return_inverse=True, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return np.minimum(rank[inverse.ravel()], bins - 1)


def numeric_codes(values: np.ndarray, bins: int, sample: np.ndarray) -> np.ndarray:
    """Bin of each value: its distinct value when the column has at most ``bins`` of them, else its
    quantile bin (edges from the sampled rows); NaN gets bin ``bins + 1``."""
    if values.dtype.kind in "biu":
        codes = _integer_codes(values, bins, sample)
        if codes is not None:
            return codes
    column = values.astype(np.float64, copy=False)
    edges, side = _bin_edges(column[sample], bins)
    codes = np.searchsorted(edges, column, side=side)
    codes[np.isnan(column)] = bins + 1
    return codes


def _bin_edges(seen: np.ndarray, bins: int) -> tuple[np.ndarray, str]:
    """(edges, searchsorted side): the distinct values seen if at most ``bins``, else unique quantiles."""
    seen = np.unique(seen[~np.isnan(seen)])
    if len(seen) <= bins:
        return seen, "left"
    return np.unique(np.quantile(seen, np.linspace(0, 1, bins + 1)[1:-1])), "right"


def _integer_codes(values: np.ndarray, bins: int, sample: np.ndarray) -> np.ndarray | None:
    """numeric_codes of integers through a lookup table over their range (None for a wide range)."""
    values = values.astype(np.int64) if values.dtype.kind == "b" else values
    low, high = int(values.min()), int(values.max())
    if high - low > INTEGER_TABLE:
        return None
    edges, side = _bin_edges(values[sample].astype(np.float64), bins)
    table = np.searchsorted(edges, np.arange(low, high + 1, dtype=np.float64), side=side)
    return table[values - low] if low else table[values]


def block_codes(block: Block, columns: range, bins: int, sample: np.ndarray) -> np.ndarray:
    """(len(columns), rows) bin codes of some of a block's features, each in [0, bins + 2)."""
    chunk = np.ascontiguousarray(block.values[:, columns.start:columns.stop].T)
    codes = np.empty(chunk.shape, dtype=np.int64)
    for k, column in enumerate(chunk):
        codes[k] = category_codes(column, bins) if block.categorical else numeric_codes(column, bins, sample)
    return codes


def majority_accuracy(codes: np.ndarray, y: np.ndarray, n_classes: int, n_bins: int) -> np.ndarray:
    """Per feature (row of ``codes``, overwritten), the accuracy of predicting each bin's most common
    class."""
    features, rows = codes.shape
    codes += (np.arange(features) * n_bins)[:, None]
    codes *= n_classes
    codes += y
    counts = np.bincount(codes.ravel(), minlength=features * n_bins * n_classes)
    return counts.reshape(features, n_bins, n_classes).max(axis=2).sum(axis=1) / rows


def classification_leaks(blocks: list[Block], y: np.ndarray, output: str = "label") -> list[Leak]:
    """Features whose bins alone reach ``LEAK_SCORE`` accuracy and clearly beat the majority class."""
    ids, values = class_ids(y)
    n_classes = max(len(values), 1)
    baseline = float(np.bincount(ids).max() / len(ids)) if len(ids) else 1.0
    bins = max_bins(len(ids))
    sample = _row_sample(len(ids))
    leaks = []
    for block in blocks:
        for start in range(0, block.values.shape[1], FEATURE_CHUNK):
            columns = range(start, min(start + FEATURE_CHUNK, block.values.shape[1]))
            accuracy = majority_accuracy(block_codes(block, columns, bins, sample), ids, n_classes, bins + 2)
            for k, j in enumerate(columns):
                if _beats(accuracy[k], baseline):
                    leaks.append(Leak(output, block.feature_name(j), float(accuracy[k]), "accuracy", baseline))
    return leaks


def _beats(accuracy: float, baseline: float) -> bool:
    """At least LEAK_SCORE, and at least half of the majority answer's errors corrected."""
    return accuracy >= LEAK_SCORE and accuracy - baseline >= 0.5 * (1 - baseline) and accuracy > baseline


def regression_leaks(blocks: list[Block], y: np.ndarray, output: str = "target") -> list[Leak]:
    """Numeric features with |pearson r| >= LEAK_SCORE with the target; string features whose
    per-category means explain it as well (correlation ratio eta)."""
    y = label_vector(y).astype(np.float64)
    known = ~np.isnan(y)
    y = y[known]
    leaks: list[Leak] = []
    if len(y) < 2:
        return leaks
    for block in blocks:
        measure = "eta" if block.categorical else "|r|"
        for start in range(0, block.values.shape[1], FEATURE_CHUNK):
            values = block.values[known, start:start + FEATURE_CHUNK]
            scores = (_correlation_ratios(values, y) if block.categorical else
                      np.abs(pearson(values.astype(np.float64), y)))
            leaks += [Leak(output, block.feature_name(start + int(j)), float(scores[j]), measure, 0.0)
                      for j in np.flatnonzero(scores >= LEAK_SCORE)]
    return leaks


def pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each column of ``x`` with ``y`` (NaN cells take the column mean; constant columns 0)."""
    present = ~np.isnan(x)
    means = np.where(present, x, 0.0).sum(axis=0) / np.maximum(present.sum(axis=0), 1)
    centred = np.where(present, x - means, 0.0)
    target = y - y.mean()
    scale = np.sqrt((centred ** 2).sum(axis=0) * (target ** 2).sum())
    covariance = centred.T @ target
    return np.divide(covariance, scale, out=np.zeros_like(covariance), where=scale > 0)


def _correlation_ratios(values: np.ndarray, y: np.ndarray) -> np.ndarray:
    """eta of each string column: sqrt(between-category variance / total variance) of ``y``."""
    total = ((y - y.mean()) ** 2).sum()
    bins = max_bins(len(y))
    scores = np.zeros(values.shape[1])
    for j in range(values.shape[1]):
        codes = category_codes(values[:, j], bins)
        sums, counts = np.bincount(codes, weights=y), np.bincount(codes)
        means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        between = (counts * (means - y.mean()) ** 2).sum()
        scores[j] = np.sqrt(between / total) if total > 0 else 0.0
    return scores


# ----------------------------------------------------------------------------- the whole picture

def inspect_splits(task: str, xs: dict[str, Any], ys: dict[str, Any], problems: dict[str, str],
                   class_names: dict[str, list[str] | None] | None = None, image_declared: bool = False
                   ) -> Inspection:
    """The inspection of splits ``xs``/``ys`` (by split name; ``ys[split]`` a dict by output name).

    ``problems`` gives each output's problem (classification or regression)."""
    class_names = class_names or {}
    sizes = {split: count_examples(x) for split, x in xs.items()}
    outputs = [output_report(name, problem, {s: ys[s][name] for s in ys if ys[s] is not None},
                             class_names.get(name)) for name, problem in problems.items()]
    blocks = {split: feature_blocks(x) for split, x in xs.items()}
    missing: dict[str, dict[str, int]] = {}
    for split, split_blocks in blocks.items():
        for feature, count in missing_counts(split_blocks).items():
            missing.setdefault(feature, {})[split] = count
    cells = {split: sum(block.values.size for block in split_blocks) for split, split_blocks in blocks.items()}
    train = xs["train"]
    sequences = _sequences(train)
    length_values = {split: _sequences(x).lengths() for split, x in xs.items() if _sequences(x) is not None}
    lengths = {split: distribution(values) for split, values in length_values.items()} if sequences else None
    leaks, note = _leak_check(blocks["train"], ys.get("train"), problems, outputs, sequences)
    report = Inspection(task, sizes, outputs, input_summaries(train), missing, cells, lengths, leaks, note)
    images = image_like(train, image_declared)
    if images is not None:
        report.images = images[:SAMPLE_IMAGES]
        report.image_titles = _titles(outputs, len(report.images))
    elif blocks["train"]:
        report.histograms = plotted_features(blocks["train"])
    if sequences:
        report.length_values = length_values
    return report


def _sequences(x) -> Sequences | None:
    if isinstance(x, Sequences):
        return x
    if isinstance(x, dict):
        return next((value for value in x.values() if isinstance(value, Sequences)), None)
    return None


def _leak_check(blocks: list[Block], ys: dict | None, problems: dict[str, str], outputs: list[OutputReport],
                sequences) -> tuple[list[Leak] | None, str]:
    if sequences is not None and not blocks:
        return None, "n/a for word-id sequences"
    if not ys:
        return None, "n/a: no training labels"
    if not blocks or not len(blocks[0].values):
        return None, "n/a: no training examples with features"
    leaks: list[Leak] = []
    skipped = []
    for output in outputs:
        y = np.asarray(ys[output.name])
        if output.multi_label:
            skipped.append(f"{output.name} (multi-label)")
        elif y.ndim > 2:
            skipped.append(f"{output.name} (a label per pixel)")
        elif problems[output.name] == "classification":
            leaks += classification_leaks(blocks, y, output.name)
        else:
            leaks += regression_leaks(blocks, y, output.name)
    if len(skipped) == len(outputs):
        return None, f"n/a for {', '.join(skipped)}"
    features = sum(block.values.shape[1] for block in blocks)
    note = f"{features} features checked on the training split"
    if skipped:
        note += f"; n/a for {', '.join(skipped)}"
    return leaks, note


def _titles(outputs: list[OutputReport], n: int) -> list[str]:
    """A title per sample image: the first output's class name or value."""
    if not outputs or "train" not in outputs[0].values:
        return [""] * n
    output = outputs[0]
    values = output.values["train"][:n]
    if output.problem == "classification" and not output.multi_label:
        return [output.class_names[i] for i in class_index(values, output.classes)]
    return [_number(v) if np.ndim(v) == 0 else "" for v in values]


# ----------------------------------------------------------------------------- table files

def table_columns(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Each column of a table dataset's schema: name, type and how it is encoded for the model."""
    rows = [{"name": schema["label"], "type": "label", "encoding": _label_encoding(schema)}]
    for column in schema["columns"]:
        rows.append({"name": column["name"], "type": column["type"], "encoding": column_encoding(column)})
    return rows


def _label_encoding(schema: dict[str, Any]) -> str:
    if schema["problem"] == "classification":
        return f"classification, {len(schema.get('class_names') or [])} classes"
    return "regression, standardized"


def column_encoding(column: dict[str, Any]) -> str:
    """How the model takes a schema column (or why it does not)."""
    if column["type"] == "numeric":
        return "standardized, missing -> median + flag" if column.get("missing_indicator") else "standardized"
    if column["type"] == "categorical":
        return f"one-hot ({len(column['categories'])} categories)"
    return f"not used: {column.get('reason', '')}"


def file_missing_cells(path: str, delimiter: str) -> tuple[int, dict[str, int]]:
    """(data rows, empty or NA cells per column) of a CSV file, read as the table dataset reads it."""
    from dlwp_tasks.datasets.table import is_missing, read_table

    table = read_table(path, delimiter)
    counts = {name: 0 for name in table.header}
    for row in table.rows:
        for name, cell in zip(table.header, row):
            counts[name] += is_missing(cell)
    return len(table.rows), counts
