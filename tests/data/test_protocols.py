"""Splits a user can name, derived validation, and dance-grouped genre-stratified k-fold."""

from collections import Counter

import numpy as np
import pytest

from pipelines.data.datasets import assign_splits
from pipelines.data.protocols import fold_roles, kfold_assignment
from pipelines.errors import InputError
from pipelines.evaluation.classification import balanced_accuracy, per_class_recall, protocol_folds

# 35 dances shaped like musictodance_full: 3 cha-cha, 5 rumba, 1 tango, 26 waltz; 4 windows each
DANCES = [f"DANCE_C_{i}" for i in range(3)] + [f"DANCE_R_{i}" for i in range(5)] + ["DANCE_T_0"]
DANCES += [f"DANCE_W_{i}" for i in range(26)]
META = [{"piece": d, "genre": d.split("_")[1], "sequence": d, "split": "train"} for d in DANCES for _ in range(4)]


def test_kfold_is_grouped_stratified_and_balanced():
    assign = kfold_assignment(META, folds=5, seed=7)
    assert set(assign) == set(DANCES) and set(assign.values()) == set(range(5))
    sizes = Counter(assign.values())
    assert max(sizes.values()) - min(sizes.values()) <= 1
    for genre, n in (("C", 3), ("R", 5), ("W", 26)):
        per_fold = Counter(f for d, f in assign.items() if d.split("_")[1] == genre)
        assert max(per_fold.values()) - min(per_fold.values()) <= 1, genre  # spread over the folds
        assert sum(per_fold.values()) == n
    assert kfold_assignment(META, folds=5, seed=7) == assign  # deterministic
    with pytest.raises(InputError, match="evaluate.folds: 40 folds need at least 40"):
        kfold_assignment(META, folds=40, seed=7)


def test_fold_roles_keep_every_dance_in_one_role_and_test_each_once():
    tested = Counter()
    for f in range(5):
        roles = fold_roles(META, fold=f, folds=5, seed=7, val_fraction=0.15)
        by_dance = {}
        for m, r in zip(META, roles):
            by_dance.setdefault(m["piece"], set()).add(r)
        assert all(len(r) == 1 for r in by_dance.values())  # no dance in two roles
        assert {"train", "val", "test"} == set(roles)
        tested.update(d for d, r in by_dance.items() if r == {"test"})
    assert tested == Counter({d: 1 for d in DANCES})
    folds = protocol_folds(META, protocol="kfold", seed=7, leaky_test_fraction=0.2, folds=5)
    assert sorted(i for _, te in folds for i in te) == list(range(len(META)))


def test_named_splits_derived_validation_and_one_line_errors():
    dances = ["A", "B", "C", "D", "E"]
    split_of, how = assign_splits(
        dances,
        named={"test": ["A"], "val": ["B"]},
        val_fraction=0.2,
        test_fraction=0.2,
        seed=1,
        source="params.yaml: datasets.musictodance",
    )
    assert split_of == {"A": "test", "B": "val", "C": "train", "D": "train", "E": "train"} and how == "named in params"
    split_of, how = assign_splits(
        dances, named={"test": ["A"]}, val_fraction=0.2, test_fraction=0.2, seed=1, source="x"
    )
    assert list(split_of.values()).count("val") == 1 and how.startswith("derived")
    with pytest.raises(InputError, match=r"^params.yaml: datasets.musictodance: splits.test names Z,"):
        assign_splits(
            dances,
            named={"test": ["Z"]},
            val_fraction=0.2,
            test_fraction=0.2,
            seed=1,
            source="params.yaml: datasets.musictodance",
        )
    with pytest.raises(InputError, match="no validation group and 1 training group"):
        assign_splits(["A", "B"], named={"test": ["A"]}, val_fraction=0.2, test_fraction=0.2, seed=1, source="x")


def test_balanced_accuracy_ignores_the_imbalance():
    # 10 waltz windows all right, 2 cha-cha windows all called waltz: accuracy 10/12, balanced 0.5
    cm = np.array([[0, 2], [0, 10]])
    assert per_class_recall(cm, ["C", "W"]) == {"C": 0.0, "W": 1.0}
    assert balanced_accuracy(cm, ["C", "W"]) == 0.5
    assert balanced_accuracy(np.array([[0, 0], [1, 3]]), ["C", "W"]) == 0.75  # classes without test items left out
