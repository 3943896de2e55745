"""Votes, majority classes, accuracies and protocols against hand-computed cases; one tie rule for every caller."""

import numpy as np
import pytest
import torch

from pipelines.evaluation import classification
from pipelines.evaluation.classification import genre_accuracy, genre_probe, majority_class, protocol_folds, vote


def test_vote_and_score_by_hand():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6], [0.3, 0.7], [0.45, 0.55], [0.6, 0.4]])
    meta = [{"sequence": "s1", "piece": "p1", "genre": "A", "start_frame": f} for f in (0, 25, 50)] + [
        {"sequence": "s2", "piece": "p2", "genre": "B", "start_frame": f} for f in (0, 25, 50)
    ]
    r = genre_accuracy(probs, meta, genres=["A", "B"], segment_frames=50, train_genres=["A", "A", "B"])
    assert r["window_accuracy"] == pytest.approx(4 / 6)
    # segments: s1[0,25] -> A right; s1[50] -> B wrong; s2[0,25] -> B right; s2[50] -> A wrong
    assert r["segments"] == 4 and r["segment_accuracy"] == 0.5
    assert r["piece_accuracy"] == 1.0 and r["pieces_correct"] == 2
    assert r["majority_class_window"] == 0.5 and r["confusion"] == [[2, 1], [1, 2]]
    # a tie in the vote goes to the larger summed probability
    assert vote(np.array([[0.9, 0.1], [0.45, 0.55]]), ["g", "g"]) == {"g": 0}


def test_protocol_folds():
    meta = [
        {"split": s, "piece": p}
        for s, p in [("train", "a"), ("train", "a"), ("val", "b"), ("test", "c"), ("test", "c")]
    ]
    ((tr, te),) = protocol_folds(meta, protocol="splits", seed=0, leaky_test_fraction=0.4)
    assert tr.tolist() == [0, 1] and te.tolist() == [3, 4]
    folds = protocol_folds(meta, protocol="leave_one_piece_out", seed=0, leaky_test_fraction=0.4)
    assert sorted(i for _, te in folds for i in te) == list(range(5))
    assert all(not {meta[i]["piece"] for i in te} & {meta[i]["piece"] for i in tr} for tr, te in folds)
    ((tr, te),) = protocol_folds(meta, protocol="leaky_windows", seed=0, leaky_test_fraction=0.4)
    assert len(te) == 2 and sorted(tr.tolist() + te.tolist()) == list(range(5))


def test_majority_class_breaks_ties_by_name():
    assert majority_class(["W", "C", "C", "W", "R"]) == "C"
    assert majority_class(["W", "W", "C"]) == "W"
    assert majority_class([]) is None


# Two windows vote for class 0 with little confidence, two for class 1 with more: a tie in
# counts that the summed probability breaks for class 1 (index order would pick class 0).
TIE = np.array([[0.55, 0.45], [0.51, 0.49], [0.05, 0.95], [0.1, 0.9]])


def test_vote_tie_goes_to_the_larger_summed_probability_then_the_lower_index():
    assert vote(TIE, ["g"] * 4) == {"g": 1}
    assert vote(np.array([[0.6, 0.4], [0.4, 0.6]]), ["g", "g"]) == {"g": 0}  # equal sums: lower index


def test_the_three_former_vote_sites_agree_on_ties(monkeypatch):
    """MCLEMCD's segment/piece vote, the genre probe's sequence vote and the recommendation's
    dance vote all call :func:`vote`, so a tied vote ends the same way in each."""
    meta = [{"sequence": "s", "piece": "p", "genre": "B", "start_frame": 25 * i} for i in range(4)]
    mc = genre_accuracy(TIE, meta, genres=["A", "B"], segment_frames=100, train_genres=["A", "B"])
    assert mc["segment_accuracy"] == 1.0 and mc["piece_accuracy"] == 1.0

    class FixedProbe:  # a "logistic regression" whose probabilities are the tie above
        def __init__(self, **kwargs):
            self.classes_ = np.array(["A", "B"])

        def fit(self, x, y):
            return self

        def predict_proba(self, x):
            return TIE

    monkeypatch.setattr(classification, "LogisticRegression", FixedProbe)
    probe = genre_probe(np.zeros((2, 3)), ["A", "B"], np.zeros((4, 3)), meta, seed=0)
    assert probe["sequence_accuracy"] == 1.0 and probe["window_accuracy"] == 0.5

    from pipelines.families.mclemcd.recommend import recommend

    class FixedModel:  # MCLEMCD's interface as recommend() uses it, with the tie as its logits
        genres = ["A", "B"]

        def motion(self, joints):
            return None, torch.log(torch.tensor(TIE, dtype=torch.float32))

        def dance_code(self, joints):
            return torch.ones(len(joints), 2)

    library = [
        {"piece": "pa", "genre": "A", "code": torch.ones(2)},
        {"piece": "pb", "genre": "B", "code": torch.ones(2)},
    ]
    out = recommend(FixedModel(), np.zeros((4, 25, 17, 3), dtype=np.float32), library, top=1)
    assert out["predicted_genre"] == "B" and out["recommendations"][0]["piece"] == "pb"
