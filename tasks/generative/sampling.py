"""Temperature sampling (§12.1.3, listing 12.1) and what the generated text is judged by."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def check_temperature(temperature: float) -> float:
    temperature = float(temperature)
    if not temperature > 0 or not np.isfinite(temperature):
        raise ValueError(f"the temperature must be a number above 0 (1.0 keeps the model's probabilities), "
                         f"got {temperature}")
    return temperature


def reweight_distribution(original_distribution, temperature: float = 0.5) -> np.ndarray:
    """The book's reweighting: ``exp(log(p) / temperature)``, renormalised to sum to 1 (in float64). Below 1 the
    likely tokens gain probability (more predictable samples), above 1 the distribution flattens (more
    surprising ones); 1 returns the distribution itself. Tokens of probability 0 stay at 0."""
    temperature = check_temperature(temperature)
    p = np.asarray(original_distribution, dtype="float64")
    if p.ndim != 1 or p.size == 0 or np.any(p < 0) or not np.any(p > 0):
        raise ValueError("the distribution must be a non-empty 1-D array of probabilities, not all 0")
    with np.errstate(divide="ignore"):
        logits = np.log(p) / temperature
    logits -= logits[np.isfinite(logits)].max()  # the same ratios, without overflow
    weights = np.exp(logits)
    return weights / weights.sum()


def sample_next(predictions, temperature: float = 1.0, rng: np.random.Generator | None = None,
                exclude: Sequence[int] = ()) -> int:
    """A token id drawn from ``predictions`` reweighted at ``temperature`` (listing 12.7's ``sample_next``, with
    the temperature really applied); ``exclude``: ids never drawn (padding, ``[UNK]``)."""
    p = np.asarray(predictions, dtype="float64").copy()
    if len(exclude):
        p[list(exclude)] = 0.0
    reweighted = reweight_distribution(p, temperature)
    rng = rng if rng is not None else np.random.default_rng()
    return int(rng.choice(len(reweighted), p=reweighted))


def distinct_share(words: Sequence[str]) -> float:
    """Distinct words over all words (1.0: no word repeats); 0 for no words."""
    return len(set(words)) / len(words) if len(words) else 0.0


def repeats_trigram(words: Sequence[str]) -> bool:
    """Whether some run of three consecutive words occurs twice."""
    seen = set()
    for i in range(len(words) - 2):
        trigram = tuple(words[i:i + 3])
        if trigram in seen:
            return True
        seen.add(trigram)
    return False
