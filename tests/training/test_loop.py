"""The one training loop and the one checkpoint format."""

import pickle

import pytest
import torch
from torch import nn

from pipelines.errors import InputError
from pipelines.training.checkpoint import load_checkpoint, save_checkpoint
from pipelines.training.loop import fit


def _regression(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5]])


def _batches(x, y, bs=16):
    return lambda epoch: ({"x": x[s : s + bs], "y": y[s : s + bs]} for s in range(0, len(x), bs))


def test_without_validation_every_epoch_runs_and_the_loss_falls():
    torch.manual_seed(0)
    x, y = _regression()
    model = nn.Linear(3, 1)
    rec = fit(
        model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        epochs=6,
        batches=_batches(x, y),
        loss=lambda b, e: {"mse": nn.functional.mse_loss(model(b["x"]), b["y"])},
    )
    assert rec["epochs_run"] == 6 and rec["best_epoch"] == 5
    losses = [h["train_loss"] for h in rec["history"]]
    assert losses[-1] < 0.1 * losses[0]
    assert set(rec["history"][0]) == {"epoch", "train_loss"}  # one term: no per-term columns
    assert not model.training


def test_weighted_terms_are_summed_and_recorded():
    x, y = _regression()
    model = nn.Linear(3, 1)
    rec = fit(
        model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.0),
        epochs=1,
        batches=_batches(x, y),
        loss=lambda b, e: {"a": nn.functional.mse_loss(model(b["x"]), b["y"]), "b": model(b["x"]).abs().mean()},
        weights={"a": 1.0, "b": 0.5},
    )
    h = rec["history"][0]
    assert h["train_loss"] == pytest.approx(h["a"] + 0.5 * h["b"], rel=1e-6)


def test_early_stopping_keeps_the_best_validation_epoch():
    """Validation scores that get worse after epoch 1: training stops after `patience` more
    epochs and the weights of epoch 1 are restored."""
    x, y = _regression()
    model = nn.Linear(3, 1)
    scores = iter([5.0, 1.0, 2.0, 3.0, 4.0, 0.5, 0.1])
    snapshots = []

    def validate():
        snapshots.append(model.weight.detach().clone())
        return {"val_loss": next(scores)}

    rec = fit(
        model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
        epochs=7,
        batches=_batches(x, y),
        loss=lambda b, e: {"mse": nn.functional.mse_loss(model(b["x"]), b["y"])},
        validate=validate,
        patience=3,
    )
    assert rec["best_epoch"] == 1 and rec["best_val_loss"] == 1.0
    assert rec["epochs_run"] == 5  # epochs 2, 3, 4 without improvement, stop at epoch 4
    assert torch.equal(model.weight, snapshots[1])


def test_mode_max_selects_the_highest_score():
    x, y = _regression()
    model = nn.Linear(3, 1)
    scores = iter([0.1, 0.7, 0.3])
    rec = fit(
        model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
        epochs=3,
        batches=_batches(x, y),
        loss=lambda b, e: {"mse": nn.functional.mse_loss(model(b["x"]), b["y"])},
        validate=lambda: {"map": next(scores)},
        monitor="map",
        mode="max",
        patience=5,
    )
    assert rec["best_epoch"] == 1 and rec["best_map"] == 0.7


def test_checkpoint_round_trip_and_refusals(tmp_path):
    model = nn.Linear(3, 2)
    path = save_checkpoint(
        tmp_path / "m.pt",
        state_dict=model.state_dict(),
        model="linear",
        params={"lr": 0.1, "sizes": [1, 2]},
        record={"history": [{"epoch": 0, "loss": 1.5}]},
    )
    ckpt = load_checkpoint(path)
    assert ckpt["model"] == "linear" and ckpt["params"]["sizes"] == [1, 2]
    assert torch.equal(ckpt["state_dict"]["weight"], model.weight.detach())
    with pytest.raises(InputError, match="checkpoint not found: run stage x"):
        load_checkpoint(tmp_path / "missing.pt", missing_hint="run stage x")
    # an arbitrary pickled object is refused by weights_only loading, as one InputError line
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "obj": pickle.loads(pickle.dumps(InputError("x", "y")))}, evil)
    with pytest.raises(InputError, match="not a readable checkpoint"):
        load_checkpoint(evil)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="junk.pt: not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_retrieval_training_refuses_a_validation_split_of_one_window(tmp_path, monkeypatch):
    from pipelines.families.retrieval import stage_train as train

    from ..helpers import make_params

    one = {"audio": torch.zeros(1, 10, 4), "motion": torch.zeros(1, 10, 6), "meta": [{}]}
    eight = {"audio": torch.zeros(8, 10, 4), "motion": torch.zeros(8, 10, 6), "meta": [{}] * 8}
    monkeypatch.setattr(train, "run_windows", lambda params, fold, roles: {"train": eight, "val": one})
    with pytest.raises(InputError, match="w229_val.h5: 1 validation window"):
        train.train_model(make_params(tmp_path), "clip")
