"""Pose-to-audio-token model: special ids, masks, delay pattern, free-running generation, KV cache."""

import pytest
import torch

from pipelines.families.dance2music.model import (
    IGNORE,
    PoseToAudio,
    Vocabulary,
    delayed_inputs,
    delayed_targets,
    sample,
    scheduled_inputs,
)

C, K = 16, 2


def _model(**kw):
    torch.manual_seed(0)
    cfg = dict(pose_dim=12, codebook_size=C, n_codebooks=K, pose_fps=24.0, frame_rate=75.0, width=32, heads=4)
    return PoseToAudio(**{**cfg, **kw}, encoder_layers=1, decoder_layers=2, dropout=0.0).eval()


def _pose(B=2, F=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, F, 12, generator=g), torch.ones(B, F, dtype=torch.bool)


def test_special_ids_never_collide_with_codes():
    v = Vocabulary(1024)
    assert {v.pad, v.bos, v.eos} == {1024, 1025, 1026} and v.size == 1027
    codes = torch.randint(0, C, (3, K, 10))
    t = delayed_targets(codes, vocab=Vocabulary(C))
    x = delayed_inputs(t, vocab=Vocabulary(C))
    specials = {C, C + 1, C + 2}
    # every code 0 … C-1 (0 included) stays a code; specials only where no code is
    assert torch.equal(t[:, 0, :10], codes[:, 0]) and torch.equal(t[:, 1, 1:11], codes[:, 1])
    assert (x[:, :, 0] == C + 1).all()  # BOS
    assert set(x[x >= C].unique().tolist()) <= specials
    assert (t[:, 0, 10] == C + 2).all() and (t[:, 1, 11] == C + 2).all()  # EOS after each codebook
    assert (t[:, 1, 0] == IGNORE).all()  # codebook 1 has not started at step 0
    # inputs are the targets one step late (BOS where a codebook has not started, PAD after EOS)
    assert torch.equal(x[:, 0, 1:11], codes[:, 0]) and torch.equal(x[:, 1, 2:12], codes[:, 1])
    assert (x[:, 1, :2] == C + 1).all()


@pytest.mark.parametrize("aligned", [False, True])
def test_no_frame_is_dropped_undetected_frames_are_masked(aligned):
    model = _model(aligned=aligned)
    pose, mask = _pose(B=1, F=30)
    pose[0, 10:20] = float("nan")
    mask[0, 10:20] = False
    memory, key_ok = model.encode(pose, mask)
    assert memory.shape[1] == 30 and torch.isfinite(memory).all()
    assert torch.equal(key_ok[0, 0, 0], mask[0])
    # what undetected frames hold cannot change the result
    pose2 = pose.clone()
    pose2[0, 10:20] = 123.0
    codes = torch.randint(0, C, (1, K, 20))
    a = model(pose, mask, codes)["logits"]
    b = model(pose2, mask, codes)["logits"]
    torch.testing.assert_close(a, b)
    # nor can a clip with no pose at all produce NaN
    none = model(pose, torch.zeros_like(mask), codes)["loss"]
    assert torch.isfinite(none)


def test_pose_stride_groups_frames_and_masks_only_groups_without_any_pose():
    model = _model(pose_stride=2)
    pose, mask = _pose(B=1, F=31)
    mask[0, 10:13] = False  # frames 10, 11 (group 5, masked) and 12 (group 6, kept: frame 13 has a pose)
    pose[0, 10:13] = float("nan")
    memory, key_ok = model.encode(pose, mask)
    assert memory.shape[1] == 16 and torch.isfinite(memory).all()  # ceil(31 / 2) steps
    expected = torch.ones(16, dtype=torch.bool)
    expected[5] = False
    assert torch.equal(key_ok[0, 0, 0], expected)
    pose2 = pose.clone()
    pose2[0, 10:13] = 55.0  # what undetected frames hold changes nothing
    codes = torch.randint(0, C, (1, K, 12))
    torch.testing.assert_close(model(pose, mask, codes)["logits"], model(pose2, mask, codes)["logits"])


@pytest.mark.parametrize("aligned", [False, True])
def test_generation_reads_no_target_and_the_kv_cache_changes_nothing(aligned):
    model = _model(aligned=aligned)
    pose, mask = _pose()
    greedy = model.generate(pose, mask, frames=12, temperature=0.0)
    assert greedy.shape == (2, K, 12) and greedy.max() < C and greedy.min() >= 0
    torch.testing.assert_close(greedy, model.generate(pose, mask, frames=12, temperature=0.0, use_cache=False))
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    kw = dict(frames=10, temperature=1.0, top_k=5, guidance=2.0)
    with_cache = model.generate(pose, mask, generator=g1, **kw)
    without = model.generate(pose, mask, generator=g2, use_cache=False, **kw)
    torch.testing.assert_close(with_cache, without)
    # the first frame of greedy generation is the teacher-forced model's first prediction from BOS alone
    tf = model(pose, mask, greedy)["logits"]
    assert torch.equal(tf[:, 0, 0, :C].argmax(-1), greedy[:, 0, 0])


def test_aligned_input_is_the_encoder_output_at_the_steps_own_time():
    model = _model(aligned=True, pose_stride=2)  # 24 fps pose in pairs (12 steps/s), 75 token frames/s
    pose, mask = _pose(B=1, F=48)  # 2 s
    mask[0, 20:24] = False  # encoder steps 10 and 11 have no pose
    memory, key_ok = model.encode(pose, mask)
    out = model.aligned_memory(memory, key_ok, steps=150)
    assert out.shape == (1, 150, 32)
    for s in (0, 10, 75, 100, 149):
        t = s / 75  # encoder step i is centred at (2 i + 0.5) / 24 s
        i = min(range(24), key=lambda j: abs((2 * j + 0.5) / 24 - t))
        expected = memory[0, i] if i not in (10, 11) else torch.zeros(32)
        torch.testing.assert_close(out[0, s], expected)
    # from a later start (the KV-cached generation's single steps), the same rows
    torch.testing.assert_close(model.aligned_memory(memory, key_ok, steps=5, start=100), out[:, 100:105])


def test_a_trained_model_reproduces_the_codes_its_pose_calls_for():
    """Two poses, two code sequences: a few hundred steps learn the mapping, and free-running greedy
    generation (no target read) then writes each pose's own codes."""
    model = _model(cond_drop=0.0).train()
    pose, mask = _pose(B=2, F=16, seed=1)
    codes = torch.randint(0, C, (2, K, 8), generator=torch.Generator().manual_seed(2))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):
        loss = model(pose, mask, codes)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    out = model.generate(pose, mask, frames=8, temperature=0.0)
    assert (out == codes).float().mean() > 0.95


def test_scheduled_sampling_and_guidance_dropout_run_and_sample_respects_top_k():
    model = _model(cond_drop=0.5).train()
    pose, mask = _pose()
    codes = torch.randint(0, C, (2, K, 9))
    out = model(pose, mask, codes, sampling_ratio=0.5, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(out["loss"]) and 0 <= out["accuracy"] <= 1
    out["loss"].backward()
    assert model.null_memory.grad is not None
    logits = torch.tensor([[0.0, 5.0, 4.0, -1.0]])
    draws = [sample(logits, temperature=1.0, top_k=2, generator=torch.Generator().manual_seed(i)) for i in range(50)]
    assert set(torch.cat(draws).tolist()) <= {1, 2}
    assert sample(logits, temperature=0.0, top_k=0).item() == 1


def test_scheduled_sampling_replaces_code_inputs_by_the_previous_prediction_and_nothing_else():
    v = Vocabulary(C)
    codes = torch.randint(0, C, (2, K, 6))
    inputs = delayed_inputs(delayed_targets(codes, vocab=v), vocab=v)
    predictions = torch.randint(0, C, inputs.shape)
    predictions[0, 0, 3] = v.eos  # a prediction that is not a code is never fed back
    assert torch.equal(scheduled_inputs(inputs, predictions, ratio=0.0, vocab=v), inputs)
    mixed = scheduled_inputs(inputs, predictions, ratio=1.0, vocab=v)
    code_in = inputs < C
    assert torch.equal(mixed[~code_in], inputs[~code_in])  # BOS / PAD / EOS untouched
    shifted = torch.cat([inputs[:, :, :1], predictions[:, :, :-1]], dim=2)
    fed = code_in & (shifted < C)
    assert torch.equal(mixed[fed], shifted[fed])
    assert mixed[0, 0, 4] == inputs[0, 0, 4]  # the EOS prediction at step 3 was not used
    half = scheduled_inputs(inputs, predictions, ratio=0.5, vocab=v, generator=torch.Generator().manual_seed(0))
    changed = (half != inputs)[fed].float().mean()
    assert 0.2 < changed < 0.8


def test_generation_benchmark_times_training_cached_and_uncached_generation_and_rendering():
    from pipelines.config import load_params
    from pipelines.families.dance2music.bench import generation_rate, render_rate, train_rate
    from pipelines.families.dance2music.tokenizer import token_layout

    params = load_params("params.yaml")
    g = params["dance2music"]
    g.update(seconds=0.2, width=16, heads=2, encoder_layers=1, decoder_layers=1, batch_size=2)
    g["sizes"]["paper"] = {"width": 32, "heads": 2, "encoder_layers": 1, "decoder_layers": 2, "batch_size": 2}
    g["mel_kmeans"].update(codebook_size=8, griffin_lim_iters=2, sample_rate=24000, hop_length=320)
    assert token_layout(params) == {"n_codebooks": 2, "codebook_size": 8, "frame_rate": 75.0, "sample_rate": 24000}
    cpu = torch.device("cpu")
    small, paper = (train_rate(params, s, cpu, steps=1) for s in ("small", "paper"))
    assert small["training_windows_per_second"] > 0 and paper["parameters"] > small["parameters"]
    cached = generation_rate(params, "small", cpu, use_cache=True, max_seconds=0.1)
    plain = generation_rate(params, "small", cpu, use_cache=False, max_seconds=0.1)
    assert cached["token_frames"] == plain["token_frames"] == 8 and cached["kv_cache"] and not plain["kv_cache"]
    assert render_rate(params)["audio_seconds_per_second"] > 0
    params["dance2music"]["tokenizer"] = "encodec"
    assert token_layout(params) == {"n_codebooks": 2, "codebook_size": 1024, "frame_rate": 75.0, "sample_rate": 24000}
    assert render_rate(params) is None
