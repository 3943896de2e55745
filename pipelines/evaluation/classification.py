"""Genre classification scores: one majority vote, one majority class, the linear probe and the
window / segment / piece accuracies, and the data protocols models are scored under.

Tie rules (one for every caller): :func:`vote` breaks a tie in window counts by the larger
summed probability, then by the lower class index (classes are sorted by name);
:func:`majority_class` breaks a tie in counts by name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix


def vote(probs: np.ndarray, groups: Sequence[Hashable]) -> dict:
    """Majority vote of window predictions per group.

    Parameters
    ----------
    probs : np.ndarray, shape (N, C)
        Class probabilities (or scores) of N windows; a window predicts its argmax.
    groups : sequence of N hashables
        The group of each window (a sequence, a segment, a piece, a dance).

    Returns
    -------
    dict
        Group -> winning class index, in first-seen group order. Ties in the number of
        votes go to the class with the larger summed probability over the group's windows,
        then to the lower class index.
    """
    probs = np.asarray(probs, dtype=np.float64)
    pred = probs.argmax(axis=1)
    members: dict = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    out = {}
    for g, idx in members.items():
        counts = np.bincount(pred[idx], minlength=probs.shape[1])
        best = np.flatnonzero(counts == counts.max())
        out[g] = int(best[np.argmax(probs[idx][:, best].sum(axis=0))])
    return out


def majority_class(labels: Sequence[str]) -> str | None:
    """The most common label (ties: the first by name); None for no labels."""
    if not len(labels):
        return None
    counts = Counter(labels)
    return min(counts, key=lambda g: (-counts[g], g))


def per_class_recall(confusion: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """Recall of every class that has test items (rows of ``confusion`` are the truth)."""
    cm = np.asarray(confusion, dtype=float)
    return {str(g): float(cm[i, i] / cm[i].sum()) for i, g in enumerate(labels) if cm[i].sum() > 0}


def balanced_accuracy(confusion: np.ndarray, labels: Sequence[str]) -> float:
    """Mean recall over the classes that have test items: chance is 1 / their number, whatever the imbalance."""
    recall = per_class_recall(confusion, labels)
    return float(np.mean(list(recall.values()))) if recall else 0.0


def genre_probe(
    train_emb: np.ndarray, train_genre: list[str], test_emb: np.ndarray, test_meta: list[dict], *, seed: int
) -> dict:
    """Logistic regression on frozen embeddings: window and sequence (:func:`vote`) accuracy,
    beside the majority class of the training windows."""
    labels = sorted(set(train_genre) | {m["genre"] for m in test_meta})
    y_test = np.array([m["genre"] for m in test_meta])
    if len(set(train_genre)) < 2:
        classes = np.array(sorted(set(train_genre)))
        probs = np.ones((len(test_meta), 1))
    else:
        clf = LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
        clf.fit(train_emb, np.array(train_genre))
        classes, probs = clf.classes_, clf.predict_proba(test_emb)
    pred = classes[probs.argmax(axis=1)]
    seq_vote = vote(probs, [m["sequence"] for m in test_meta])
    seq_true = {m["sequence"]: m["genre"] for m in test_meta}
    majority = majority_class(train_genre)
    confusion = confusion_matrix(y_test, pred, labels=labels)
    return {
        "window_accuracy": float(np.mean(pred == y_test)),
        "balanced_accuracy": balanced_accuracy(confusion, labels),
        "per_genre_recall": per_class_recall(confusion, labels),
        "sequence_accuracy": float(np.mean([classes[seq_vote[s]] == seq_true[s] for s in seq_true])),
        "chance_window": float(np.mean(y_test == majority)),
        "chance_sequence": float(np.mean([seq_true[s] == majority for s in seq_true])),
        "chance_uniform": 1.0 / len(labels),
        "labels": labels,
        "confusion": confusion.tolist(),
        "test_windows": int(len(y_test)),
        "test_sequences": len(seq_true),
    }


def genre_accuracy(
    probs: np.ndarray, meta: list[dict], *, genres: list[str], segment_frames: int, train_genres: list[str]
) -> dict:
    """Accuracy per window, per segment (vote over the windows of each ``segment_frames`` span of
    a sequence) and per piece (vote over all of a piece's windows), the majority-class rates
    and the confusion matrix."""
    truth = np.array([genres.index(m["genre"]) for m in meta])
    pred = probs.argmax(axis=1)
    seg = [(m["sequence"], m["start_frame"] // segment_frames) for m in meta]
    pieces = [m["piece"] for m in meta]
    seg_vote, piece_vote = vote(probs, seg), vote(probs, pieces)
    seg_truth = {s: t for s, t in zip(seg, truth)}
    piece_truth = {p: t for p, t in zip(pieces, truth)}
    majority = majority_class(train_genres)
    majority_index = genres.index(majority) if majority is not None else -1
    confusion = np.zeros((len(genres), len(genres)), dtype=int)
    np.add.at(confusion, (truth, pred), 1)
    piece_confusion = np.zeros((len(genres), len(genres)), dtype=int)
    for p_, v in piece_vote.items():
        piece_confusion[piece_truth[p_], v] += 1
    return {
        "window_accuracy": float((pred == truth).mean()),
        "balanced_accuracy_window": balanced_accuracy(confusion, genres),
        "balanced_accuracy_piece": balanced_accuracy(piece_confusion, genres),
        "per_genre_recall_window": per_class_recall(confusion, genres),
        "segment_accuracy": float(np.mean([seg_vote[s] == seg_truth[s] for s in seg_vote])),
        "piece_accuracy": float(np.mean([piece_vote[p] == piece_truth[p] for p in piece_vote])),
        "majority_class": majority,
        "majority_class_window": float((truth == majority_index).mean()),
        "majority_class_piece": float(np.mean([piece_truth[p] == majority_index for p in piece_truth])),
        "windows": int(len(truth)),
        "segments": len(seg_vote),
        "pieces": len(piece_vote),
        "pieces_correct": int(sum(piece_vote[p] == piece_truth[p] for p in piece_vote)),
        "confusion": confusion.tolist(),
        "piece_confusion": piece_confusion.tolist(),
    }


def protocol_folds(
    meta: list[dict], *, protocol: str, seed: int, leaky_test_fraction: float, folds: int = 5
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train indices, test indices) of each fold of ``protocol`` over windows with ``meta``.

    ``splits``: the dataset's own train/test split; ``kfold``: ``folds`` piece-grouped,
    genre-stratified folds (:func:`pipelines.data.protocols.kfold_assignment`), each once the
    test set; ``leave_one_piece_out``: every music piece once as the test set; ``leaky_windows``: windows drawn at random into train and test
    regardless of piece (for comparison with papers that split this way only).
    """
    split = np.array([m["split"] for m in meta])
    if protocol == "splits":
        return [(np.flatnonzero(split == "train"), np.flatnonzero(split == "test"))]
    n = len(split)
    if protocol == "kfold":
        from ..data.protocols import kfold_assignment

        assign = kfold_assignment(meta, folds=folds, seed=seed)
        fold_of = np.array([assign[m["piece"]] for m in meta])
        return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(folds)]
    if protocol == "leaky_windows":
        order = np.random.default_rng(seed).permutation(n)
        n_test = int(round(leaky_test_fraction * n))
        return [(np.sort(order[n_test:]), np.sort(order[:n_test]))]
    pieces = np.array([m["piece"] for m in meta])
    return [(np.flatnonzero(pieces != p), np.flatnonzero(pieces == p)) for p in sorted(set(pieces))]


def correct_and_majority(confusion: Sequence[Sequence[int]], *, genres: list[str], majority: str | None):
    """Per-window (correct, is the majority class) indicator pairs rebuilt from a confusion matrix
    (rows: truth), in truth-class order: what a paired bootstrap over windows needs."""
    correct, is_majority = [], []
    for t, row in enumerate(confusion):
        n, c = int(sum(row)), int(row[t])
        correct += [1.0] * c + [0.0] * (n - c)
        is_majority += [float(genres[t] == majority)] * n
    return np.array(correct), np.array(is_majority)
