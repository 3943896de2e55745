"""One training step of every model family on CUDA, when torch sees a GPU (skipped, with the reason, when not).

The step functions are the benchmarks' (:mod:`pipelines.bench.gpu_check`), so ``make gpu-check``
times exactly what this test runs.
"""

import math

import pytest
import torch

from pipelines.bench.gpu_check import family_rates, windows_per_second
from pipelines.config import REPO_ROOT, load_params
from pipelines.training.loop import fit
from pipelines.training.runtime import configure_device, use_amp

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device visible to torch: the GPU steps run on a CUDA node")


@needs_cuda
@pytest.mark.parametrize("amp", [False, True])
def test_every_model_family_takes_a_training_step_on_cuda(amp):
    params = load_params(REPO_ROOT / "params.yaml")
    device = torch.device("cuda")
    ctx = torch.autocast("cuda", dtype=torch.bfloat16) if amp else torch.autocast("cuda", enabled=False)
    with ctx:
        rates = family_rates(params, "small", device, steps=1)
    assert set(rates) == {"retrieval", "motionbeat", "mclemcd", "dance2music"}
    assert all(r["device"] == "cuda" and math.isfinite(windows_per_second(r)) for r in rates.values())


@needs_cuda
def test_the_training_loop_trains_on_cuda_under_amp_when_the_params_ask():
    params = load_params(REPO_ROOT / "params.yaml")
    params["device"], params["cuda"] = "cuda", {"amp": True, "cudnn_benchmark": True}
    device = configure_device(params)
    assert device.type == "cuda" and torch.backends.cudnn.benchmark and use_amp(params, device)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)).to(device)
    x, y = torch.randn(64, 8, device=device), torch.randn(64, 1, device=device)
    seen = []

    def loss(batch, epoch):
        out = model(batch["x"])
        seen.append(out.dtype)
        return {"mse": ((out.float() - batch["y"]) ** 2).mean()}

    record = fit(
        model,
        optimizer=torch.optim.Adam(model.parameters()),
        epochs=3,
        batches=lambda e: [{"x": x, "y": y}],
        loss=loss,
        amp=True,
    )
    assert seen[0] == torch.bfloat16 and record["history"][-1]["train_loss"] < record["history"][0]["train_loss"]


def test_cuda_switches_do_nothing_on_the_cpu():
    params = load_params(REPO_ROOT / "params.yaml")
    params["device"], params["cuda"] = "cpu", {"amp": True, "cudnn_benchmark": True}
    device = configure_device(params)
    assert device.type == "cpu" and not use_amp(params, device)


def test_fit_runs_the_losses_under_bfloat16_autocast_only_with_amp():
    # the loop's autocast on the model's own device (the CPU here: the same code path as CUDA's)
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    for amp, dtype in ((False, torch.float32), (True, torch.bfloat16)):
        seen = []

        def loss(batch, epoch, seen=seen):
            out = model(batch["x"])
            seen.append(out.dtype)
            return {"mse": ((out.float() - batch["y"]) ** 2).mean()}

        fit(
            model,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            epochs=1,
            batches=lambda e: [{"x": x, "y": y}],
            loss=loss,
            amp=amp,
        )
        assert seen == [dtype]
