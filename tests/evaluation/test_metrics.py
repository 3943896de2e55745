"""Retrieval and beat metrics against hand-computed cases."""

import numpy as np
import pytest

from pipelines.evaluation.beats import beat_align_score, beat_f_measure
from pipelines.evaluation.classification import genre_probe
from pipelines.evaluation.retrieval import (
    chance_retrieval_metrics,
    identical_music_ceiling,
    pessimistic_ranks,
    recall_curve,
    relevance,
    retrieval_metrics,
    sequence_means,
)


def test_perfect_ranking():
    m = retrieval_metrics(np.eye(5), np.eye(5, dtype=bool), ks=(1, 5))
    assert m == {"R@1": 1.0, "R@5": 1.0, "median_rank": 1.0, "mAP": 1.0}


def test_reversed_ranking():
    # query q's relevant item g=q always gets the lowest score: rank 4 of 4
    scores = -np.eye(4)
    m = retrieval_metrics(scores, np.eye(4, dtype=bool), ks=(1, 3, 4))
    assert m["R@1"] == 0 and m["R@3"] == 0 and m["R@4"] == 1
    assert m["median_rank"] == 4 and m["mAP"] == pytest.approx(0.25)


def test_ties_count_against_the_model():
    assert pessimistic_ranks(np.array([[1.0, 1.0, 0.0]])).tolist() == [[2, 2, 3]]
    m = retrieval_metrics(np.zeros((3, 3)), np.eye(3, dtype=bool), ks=(1, 2, 3))
    assert m["R@1"] == 0 and m["R@2"] == 0 and m["R@3"] == 1 and m["mAP"] == pytest.approx(1 / 3)
    # a relevant item tied with one other at the top: rank 2, precision 1/2
    m = retrieval_metrics(np.array([[0.9, 0.9, 0.1]]), np.array([[True, False, False]]), ks=(1, 2))
    assert m["R@1"] == 0 and m["R@2"] == 1 and m["mAP"] == pytest.approx(0.5)


def test_gallery_with_repeated_songs():
    # 4 windows, two songs: A A B B. Query 0 ranks items [1, 0, 2, 3] (score order).
    scores = np.array([[0.8, 0.9, 0.1, 0.0], [0.9, 0.8, 0.1, 0.0], [0.0, 0.1, 0.9, 0.8], [0.0, 0.1, 0.8, 0.9]])
    song = ["A", "A", "B", "B"]
    exact = relevance([{"id": i} for i in range(4)], [{"id": i} for i in range(4)], key="id")
    same_song = relevance([{"s": s} for s in song], [{"s": s} for s in song], key="s")
    e = retrieval_metrics(scores, exact, ks=(1, 2))
    assert e["R@1"] == 0.5 and e["R@2"] == 1.0 and e["median_rank"] == 1.5
    assert e["mAP"] == pytest.approx((0.5 + 0.5 + 1 + 1) / 4)
    s = retrieval_metrics(scores, same_song, ks=(1,))
    assert s["R@1"] == 1.0 and s["mAP"] == 1.0
    # with identical music for windows 0 and 1, the best exact R@1 is 1/2 for those queries
    meta = [{"id": i, "piece": p, "audio_start_frame": 0 if i < 2 else i} for i, p in enumerate(song)]
    assert identical_music_ceiling(meta, ks=(1, 2)) == {"R@1": 0.75, "R@2": 1.0}


def test_map_with_several_relevant_items():
    # relevant items at ranks 1 and 3: AP = (1/1 + 2/3) / 2
    m = retrieval_metrics(np.array([[0.9, 0.5, 0.7]]), np.array([[True, True, False]]), ks=(1,))
    assert m["mAP"] == pytest.approx((1 + 2 / 3) / 2)


def test_chance_levels():
    n = 20
    c = chance_retrieval_metrics(np.eye(n, dtype=bool), ks=(1, 5), draws=400, seed=0)
    assert c["R@1"] == pytest.approx(1 / n, abs=0.01) and c["R@5"] == pytest.approx(5 / n, abs=0.02)
    assert c["median_rank"] == pytest.approx((n + 1) / 2, abs=1.0)
    assert recall_curve(np.eye(3), np.eye(3, dtype=bool), max_k=3).tolist() == [1.0, 1.0, 1.0]


def test_shape_checks():
    with pytest.raises(ValueError, match="at least one relevant"):
        retrieval_metrics(np.eye(2), np.zeros((2, 2), bool))
    with pytest.raises(ValueError, match="differ in shape"):
        retrieval_metrics(np.eye(2), np.eye(3, dtype=bool))


def test_sequence_means_and_probe():
    emb = np.array([[1.0, 0], [1, 0], [0, 1], [0, 1]])
    meta = [
        {"id": i, "sequence": s, "piece": "p", "genre": g}
        for i, (s, g) in enumerate([("a", "X"), ("a", "X"), ("b", "Y"), ("b", "Y")])
    ]
    means, seq_meta = sequence_means(emb, meta)
    assert means.shape == (2, 2) and [m["sequence"] for m in seq_meta] == ["a", "b"]
    probe = genre_probe(emb, ["X", "X", "Y", "Y"], emb, meta, seed=0)
    assert probe["window_accuracy"] == 1.0 and probe["sequence_accuracy"] == 1.0
    assert probe["chance_uniform"] == 0.5 and probe["confusion"] == [[2, 0], [0, 2]]


def test_beat_metrics():
    ref = np.arange(10) * 0.5
    assert beat_f_measure(estimated_s=ref + 0.03, reference_s=ref) == 1.0
    assert beat_f_measure(estimated_s=ref + 0.25, reference_s=ref) == 0.0
    assert beat_f_measure(estimated_s=ref[::2], reference_s=ref) == pytest.approx(2 * 0.5 / 1.5)
    assert beat_align_score(music_beats_s=ref, kinetic_beats_s=ref, sigma_s=0.1) == 1.0
    assert beat_align_score(
        music_beats_s=np.array([0.0]), kinetic_beats_s=np.array([0.1]), sigma_s=0.1
    ) == pytest.approx(np.exp(-0.5))
