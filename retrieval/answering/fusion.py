"""Fusion of dense and lexical passage scores into one ranking.

    ranking = fuse(dense_scores, lexical_scores, FusionMethod.WEIGHTED, dense_weight=0.6)

Scores come as {passage id: score} over the union of both candidate lists, so every
candidate has both scores (the engine scores lexical misses and dense misses exactly).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

#: Tuned on xquad-vi with ``hoptac eval --sweep`` (see docs/quality.md, "Retrieval fusion").
DEFAULT_DENSE_WEIGHT = 0.6
RRF_K = 60
#: Dense scores are min-max normalised over at least this span of cosine, so among a few
#: near-identical candidates (a small corpus) a 0.01 cosine gap cannot outweigh BM25.
MIN_DENSE_SPAN = 0.1


class FusionMethod(enum.StrEnum):
    WEIGHTED = "weighted"  # min-max dense + max-normalised BM25, weighted sum
    RRF = "rrf"  # reciprocal rank fusion
    DENSE = "dense"  # dense only (baseline)
    LEXICAL = "lexical"  # BM25 only (baseline)


def _rank(scores: Mapping[int, float]) -> list[tuple[int, float]]:
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def fuse(
    dense: Mapping[int, float],
    lexical: Mapping[int, float],
    method: FusionMethod = FusionMethod.WEIGHTED,
    dense_weight: float = DEFAULT_DENSE_WEIGHT,
) -> list[tuple[int, float]]:
    """Passage ids with fused scores, best first (ties broken by id for determinism)."""
    if method == FusionMethod.DENSE:
        return _rank(dense)
    if method == FusionMethod.LEXICAL:
        return _rank({pid: s for pid, s in lexical.items() if s > 0})
    ids = set(dense) | set(lexical)
    if method == FusionMethod.RRF:
        # rrf(p) = sum over rankings r of 1 / (k + rank_r(p)), ranks from 1
        fused = dict.fromkeys(ids, 0.0)
        for ranking in (_rank(dense), _rank({p: s for p, s in lexical.items() if s > 0})):
            for position, (pid, _score) in enumerate(ranking, start=1):
                fused[pid] += 1.0 / (RRF_K + position)
        return _rank(fused)
    # weighted(p) = w * (d(p) - min d) / max(max d - min d, MIN_DENSE_SPAN) + (1 - w) * b(p) / max b
    d_values = [dense.get(p, 0.0) for p in ids]
    d_min, d_max = (min(d_values), max(d_values)) if d_values else (0.0, 0.0)
    d_span = max(d_max - d_min, MIN_DENSE_SPAN)
    b_max = max((lexical.get(p, 0.0) for p in ids), default=0.0)
    fused = {}
    for pid in ids:
        d_norm = (dense.get(pid, d_min) - d_min) / d_span
        b_norm = lexical.get(pid, 0.0) / b_max if b_max > 0 else 0.0
        fused[pid] = dense_weight * d_norm + (1.0 - dense_weight) * b_norm
    return _rank(fused)
