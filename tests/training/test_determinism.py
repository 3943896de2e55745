"""Training is deterministic for every model family: a run repeated with the same seed gives the
same weights and losses, and a run with another seed gives other weights (so the comparison can
fail). The families train through their stages on the tiny synthetic set (tests/helpers.py)."""

import json

import pytest
import torch

from pipelines.config import Paths
from pipelines.families.dance2music import stage_fit_tokenizer as fit_tokenizer
from pipelines.families.dance2music import stage_train as train_dance2music
from pipelines.families.mclemcd import stage_train as mclemcd
from pipelines.families.mclemcd.variants import variant_of
from pipelines.families.motionbeat import stage_train as train_motionbeat
from pipelines.families.retrieval.stage_train import train_model
from pipelines.training.checkpoint import load_checkpoint

from ..helpers import make_params, run_all

pytestmark = pytest.mark.slow  # runs the data stages, then trains each family three times


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    params = make_params(tmp_path_factory.mktemp("training_determinism"))
    run_all(params)
    fit_tokenizer.main(params)  # the generator's tokenizer (its own determinism: tests/workflow/test_fit_tokenizer.py)
    return params


def _retrieval(name):
    def train(params, seed_index):
        ckpt = load_checkpoint(train_model(params, name, seed_index=seed_index))
        return ckpt["state_dict"], [h["train_loss"] for h in ckpt["record"]["history"]]

    return train


def _motionbeat(params, seed_index):
    ckpt = load_checkpoint(train_motionbeat.train(params, seed_index=seed_index))
    return ckpt["state_dict"], [h["train_loss"] for h in ckpt["record"]["history"]]


def _mclemcd(params, seed_index):
    """Stage mclemcd's main variant, with the main seed moved by ``seed_index`` (stage mclemcd_seed's seeds)."""
    params = {**params, "seed": params["seed"] + seed_index}
    mclemcd.main(params)
    name = variant_of(params).name
    ckpt = load_checkpoint(Paths(params).models / "mclemcd" / f"{name}.pt")
    history = json.loads((Paths(params).results / "mclemcd" / "tables" / "history.json").read_text())[name]
    return ckpt["state_dict"], [h["train_loss"] for fold in history for h in fold]


def _generate(params, seed_index):
    ckpt = load_checkpoint(train_dance2music.train(params, seed_index=seed_index))
    return ckpt["state_dict"], [h["train_loss"] for h in ckpt["record"]["history"]]


FAMILIES = {
    "linear": _retrieval("linear"),
    "clip": _retrieval("clip"),
    "temporal": _retrieval("temporal"),
    "motionbeat": _motionbeat,
    "mclemcd": _mclemcd,
    "dance2music": _generate,
}


def _differing(a: dict, b: dict) -> list[str]:
    """The state-dict entries that differ between ``a`` and ``b`` (which have the same keys)."""
    assert a.keys() == b.keys()
    return [k for k in a if not torch.equal(a[k], b[k])]


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_weights_other_seed_other_weights(data, family):
    train = FAMILIES[family]
    first, first_losses = train(data, 0)
    again, again_losses = train(data, 0)  # the same process: a seed left unset would show here
    assert not _differing(first, again), f"{family}: the same seed gave other weights: {_differing(first, again)[:5]}"
    assert first_losses == again_losses
    other, other_losses = train(data, 1)
    if family == "linear":  # the closed-form ridge fit involves no randomness: one run (config.seed_indices)
        assert not _differing(first, other)
        return
    assert len(first_losses) >= 2 and len(_differing(first, other)) > len(first) // 2, f"{family}: seed ignored"
    assert first_losses != other_losses
