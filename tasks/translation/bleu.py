"""Corpus BLEU (Papineni et al., 2002) with one reference per sentence: BLEU-4, uniform weights, no smoothing.

For each n from 1 to 4, the modified precision ``p_n`` is the sum over sentences of the candidate's n-gram
counts clipped by the reference's, divided by the candidate's n-gram total. With ``c`` the candidates' total
length and ``r`` the references', the brevity penalty is 1 when ``c > r``, else ``exp(1 - r / c)``, and
``BLEU = BP * exp(mean(log p_n))``; it is 0 when any ``p_n`` is 0.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence


def ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(candidates: Sequence[Sequence[str]], references: Sequence[Sequence[str]], max_n: int = 4) -> dict:
    """``{"score", "precisions", "brevity_penalty", "candidate_length", "reference_length"}`` of token lists."""
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates for {len(references)} references")
    matched, total = [0] * max_n, [0] * max_n
    for candidate, reference in zip(candidates, references):
        for n in range(1, max_n + 1):
            counts, limits = ngrams(candidate, n), ngrams(reference, n)
            matched[n - 1] += sum(min(count, limits[gram]) for gram, count in counts.items())
            total[n - 1] += max(len(candidate) - n + 1, 0)
    c = sum(len(candidate) for candidate in candidates)
    r = sum(len(reference) for reference in references)
    precisions = [m / t if t else 0.0 for m, t in zip(matched, total)]
    penalty = 1.0 if c > r else (math.exp(1 - r / c) if c else 0.0)
    score = penalty * math.exp(sum(math.log(p) for p in precisions) / max_n) if min(precisions) > 0 else 0.0
    return {"score": score, "precisions": precisions, "brevity_penalty": penalty, "candidate_length": c,
            "reference_length": r}
