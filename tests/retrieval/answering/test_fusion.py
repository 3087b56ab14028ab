"""Fusion of dense and lexical scores."""

from __future__ import annotations

import pytest

from retrieval.answering.fusion import RRF_K, FusionMethod, fuse


def test_weighted_fusion_is_the_written_formula() -> None:
    dense = {1: 0.90, 2: 0.80, 3: 0.70}
    lexical = {1: 0.0, 2: 10.0, 3: 5.0}
    fused = dict(fuse(dense, lexical, FusionMethod.WEIGHTED, dense_weight=0.6))
    assert fused[1] == pytest.approx(0.6 * 0.2 / 0.2 + 0.4 * 0.0)
    assert fused[2] == pytest.approx(0.6 * 0.5 + 0.4 * 1.0)
    assert fused[3] == pytest.approx(0.6 * 0.0 + 0.4 * 0.5)


def test_weighted_fusion_lets_a_strong_lexical_match_overtake_dense() -> None:
    ranking = [pid for pid, _ in fuse({1: 0.86, 2: 0.85}, {1: 0.5, 2: 9.0}, FusionMethod.WEIGHTED, 0.5)]
    assert ranking == [2, 1]


def test_dense_and_lexical_baselines_ignore_the_other_side() -> None:
    dense = {1: 0.9, 2: 0.8}
    lexical = {1: 1.0, 2: 3.0}
    assert [p for p, _ in fuse(dense, lexical, FusionMethod.DENSE)] == [1, 2]
    assert [p for p, _ in fuse(dense, lexical, FusionMethod.LEXICAL)] == [2, 1]


def test_lexical_baseline_drops_passages_without_any_query_word() -> None:
    assert fuse({1: 0.9}, {1: 0.0, 2: 2.0}, FusionMethod.LEXICAL) == [(2, 2.0)]


def test_reciprocal_rank_fusion() -> None:
    fused = dict(fuse({1: 0.9, 2: 0.8}, {2: 5.0, 1: 1.0}, FusionMethod.RRF))
    assert fused[1] == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 2))
    assert fused[1] == pytest.approx(fused[2])


def test_ties_are_broken_deterministically() -> None:
    assert fuse({2: 0.5, 1: 0.5}, {}, FusionMethod.DENSE) == [(1, 0.5), (2, 0.5)]
