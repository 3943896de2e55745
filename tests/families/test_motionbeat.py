"""MotionBeat: beat tokens, phase rotation, contact attention, the embodied contrastive loss, ablation flags."""

import numpy as np
import pytest
import torch

from pipelines.config import REPO_ROOT, load_params
from pipelines.data.skeleton import Skeleton
from pipelines.families.motionbeat.model import Attention, build_motionbeat
from pipelines.families.motionbeat.training import MotionBeatObjective, jitter_shifts, resolve_shifts
from pipelines.family import variant_params
from pipelines.features.beat_tokens import beat_grid, pool_tokens
from pipelines.features.beat_windows import TokenSet
from pipelines.features.motion import contact_pulse
from pipelines.training.losses import embodied_infonce, symmetric_infonce

CFG = {
    "subdivisions": 4,
    "width": 16,
    "layers": 2,
    "heads": 2,
    "embed_dim": 8,
    "dropout": 0.0,
    "temperature_init": 0.07,
    "phase_rotation": True,
    "contact_attention": True,
    "contact_clamp": 2.0,
    "tempo_negatives": {"count": 2, "weight": 1.0, "tolerance_bpm": 5.0},
    "jitter_negatives": {"count": 4, "weight": 1.0},
    "sral": {"beat_weight": 0.5, "bar_weight": 0.5, "gamma": 0.1, "bar_bins": 8},
}


def test_beat_grid_tokens_phase_and_tempo():
    # 120 BPM at 60 fps: a beat every 30 frames, downbeats every 4 beats from frame 30
    beats = np.arange(30, 600, 30)
    grid = beat_grid(beat_frames=beats, downbeat_frames=beats[::4], n_frames=600, fps=60, subdivisions=4)
    assert grid.starts[0] == 0 and grid.starts[-1] == 600 and np.all(np.diff(grid.starts) > 0)
    on_beat = np.isin(grid.starts[:-1], beats)
    assert on_beat.sum() == beats.size
    np.testing.assert_allclose(grid.tempo_bpm, 120.0, rtol=1e-5)
    assert grid.phase[grid.starts[:-1] == 30][0] == 0.0  # downbeat
    assert grid.phase[grid.starts[:-1] == 60][0] == pytest.approx(0.25)
    assert grid.phase[grid.starts[:-1] == 45][0] == pytest.approx(0.125)  # half a beat in: 2 of 16 subdivisions
    assert grid.fallback == ""
    x = np.arange(600, dtype=float)
    pooled = pool_tokens(x, grid.starts)
    assert pooled.shape == (grid.n_tokens,) and pooled[1] == pytest.approx(np.mean(x[grid.starts[1] : grid.starts[2]]))


def test_beat_grid_fallbacks_instead_of_errors():
    few = beat_grid(beat_frames=np.array([10]), downbeat_frames=np.array([]), n_frames=300, fps=60, subdivisions=4)
    assert few.fallback == "few_beats" and few.n_tokens > 0 and np.all(np.isfinite(few.phase))
    no_down = beat_grid(
        beat_frames=np.arange(0, 300, 30), downbeat_frames=np.array([]), n_frames=300, fps=60, subdivisions=4
    )
    assert no_down.fallback == "no_downbeat" and set(np.round(no_down.phase[::4] * 4)) <= {0, 1, 2, 3}


def test_skeletons_name_their_feet_and_a_footless_one_falls_back_to_kinetic_beats():
    for layout in ("coco17", "mtd23", "mediapipe33"):
        sk = Skeleton(layout)
        assert len(sk.contact_joints) == 2
        assert all("ankle" in sk.joints[f[0]] for f in sk.contact_joints)
    T, sk = 120, Skeleton("coco17")
    joints = np.zeros((T, 17, 3))
    lift = (np.arange(T) % 30 < 15).astype(float) * 0.3  # the feet land at frames 15, 45, 75, 105
    joints[:, [15, 16], 1] = lift[:, None]
    velocity = np.gradient(joints, axis=0) * 60
    kin = np.zeros(T)
    kin[[30, 60, 90]] = 1
    pulse = contact_pulse(joints=joints, root=np.zeros((T, 3)), velocity=velocity, kinetic_beats=kin, skeleton=sk)
    assert set(np.flatnonzero(pulse > 0.5)) <= {15, 16, 17, 45, 46, 47, 75, 76, 77, 105, 106, 107}
    footless = type("Footless", (), {"contact_joints": (), "up_axis": 1})()
    fb = contact_pulse(joints=joints, root=np.zeros((T, 3)), velocity=velocity, kinetic_beats=kin, skeleton=footless)
    assert np.all(np.isfinite(fb)) and fb.max() == pytest.approx(1.0) and np.argmax(fb) in (30, 60, 90)


def test_attention_scores_do_not_change_when_the_input_moves_by_a_whole_bar():
    torch.manual_seed(0)
    attn = Attention(16, heads=2, contact_bias=True, contact_clamp=2.0)
    S, metre, bars = 4, 4, 4
    L = S * metre * bars
    phase = torch.tensor([(i % (S * metre)) / (S * metre) for i in range(L)])[None]
    x = torch.randn(1, L, 16)
    contact = torch.rand(1, L)
    mask = torch.ones(1, L, dtype=torch.bool)
    bar = S * metre
    shifted_x, shifted_c = torch.roll(x, bar, dims=1), torch.roll(contact, bar, dims=1)
    scores, _ = attn.scores(x, mask=mask, phase=phase, contact=contact)
    moved, _ = attn.scores(shifted_x, mask=mask, phase=phase, contact=shifted_c)
    # token i after the shift is token i - bar before it
    torch.testing.assert_close(moved[:, :, bar:, bar:], scores[:, :, :-bar, :-bar], atol=1e-5, rtol=1e-5)
    # a one-beat move is not a symmetry of the absolute input rotation: the encoder output changes
    model = build_motionbeat(CFG, audio_dim=3, motion_dim=6, audio_stats=_stats(3), motion_stats=_stats(6)).eval()
    batch = _batch(L, phase=phase[0])
    beat_moved = {
        **batch,
        "motion": torch.roll(batch["motion"], S, dims=1),
        "contact": torch.roll(batch["contact"], S, dims=1),
    }
    bar_moved = {
        **batch,
        "motion": torch.roll(batch["motion"], bar, dims=1),
        "contact": torch.roll(batch["contact"], bar, dims=1),
    }
    with torch.no_grad():
        m, m_beat, m_bar = (model.embed_motion(b) for b in (batch, beat_moved, bar_moved))
    torch.testing.assert_close(m_bar, m, atol=1e-5, rtol=1e-4)  # roll by whole bars: same tokens, same phases
    assert (m_beat - m).abs().max() > 1e-3


def _stats(d):
    return torch.zeros(d), torch.ones(d)


def _batch(L, *, phase, B=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "audio": torch.randn(B, L, 3, generator=g),
        "motion": torch.randn(B, L, 6, generator=g),
        "contact": torch.rand(B, L, generator=g),
        "onset": torch.rand(B, L, generator=g),
        "phase": phase.expand(B, L).clone(),
        "tempo": torch.full((B, L), 120.0),
        "mask": torch.ones(B, L, dtype=torch.bool),
    }


def _tokens(n_seq=3, tokens_per_seq=40, win=16):
    """A toy TokenSet: sequences of 40 tokens, windows of 16 tokens every 8."""
    N = n_seq * tokens_per_seq
    tok = {
        "audio": torch.randn(N, 3),
        "motion": torch.arange(N, dtype=torch.float32)[:, None].repeat(1, 6),  # motion = global token index
        "contact": torch.rand(N),
        "onset": torch.rand(N),
        "phase": torch.tensor([(i % 16) / 16 for i in range(N)]),
        "tempo": torch.full((N,), 120.0),
        "beat_frame": torch.zeros(N),
    }
    starts = [s * tokens_per_seq + k for s in range(n_seq) for k in range(0, tokens_per_seq - win + 1, 8)]
    meta = [
        {"piece": f"p{i % 2}", "sequence": f"s{i}", "audio_start_frame": 0, "start_frame": 0}
        for i in range(len(starts))
    ]
    return TokenSet(
        tokens=tok,
        seq_start=np.arange(n_seq) * tokens_per_seq,
        seq_len=np.full(n_seq, tokens_per_seq),
        win_seq=np.array([s // tokens_per_seq for s in starts]),
        win_start=np.array(starts),
        win_len=np.full(len(starts), win),
        meta=meta,
        beats_source="estimated",
    )


def test_jitter_negatives_move_the_motion_by_the_beat_grid_and_stay_in_the_sequence():
    tokens = _tokens()
    shifts = jitter_shifts({**CFG, "subdivisions": 4})
    assert shifts == [4, -4, 2, -2]
    windows = np.arange(len(tokens.meta))
    shift, ok = resolve_shifts(tokens, windows, shifts)
    assert ok.all()
    first = tokens.win_start == tokens.seq_start[tokens.win_seq]  # a sequence's first window cannot move back
    assert np.all(shift[first, 1] == 4) and np.all(shift[first, 3] == 2)
    for k in range(len(shifts)):
        batch = tokens.gather(windows, shift=shift[:, k])
        plain = tokens.gather(windows)
        moved = batch["motion"][:, :, 0] - plain["motion"][:, :, 0]  # motion holds the token index
        assert torch.all(moved == torch.as_tensor(shift[:, k])[:, None].float())
        torch.testing.assert_close(batch["audio"], plain["audio"])  # the music and its phases stay
        torch.testing.assert_close(batch["phase"], plain["phase"])


def test_ecl_is_infonce_when_both_extra_weights_are_zero():
    torch.manual_seed(1)
    logits = torch.randn(6, 6)
    extra = torch.randn(6, 4)
    base = symmetric_infonce(logits)
    gone = torch.full_like(extra, float("-inf"))  # log(0): what weight 0 adds
    torch.testing.assert_close(embodied_infonce(logits, extra_a2m=gone, extra_m2a=gone[:, :2]), base)
    assert embodied_infonce(logits, extra_a2m=extra) > base  # negatives only add to the denominator


def _objective_terms(variant: str, batch: dict, seed: int = 0) -> dict:
    cfg = variant_params({"motionbeat": CFG}, "motionbeat", VARIANTS.get(variant, {}))["motionbeat"]
    torch.manual_seed(seed)
    model = build_motionbeat(
        {**CFG, "phase_rotation": True, "contact_attention": True},
        audio_dim=3,
        motion_dim=6,
        audio_stats=_stats(3),
        motion_stats=_stats(6),
    ).eval()
    model.contact_attention = cfg["contact_attention"]
    for enc in (model.audio, model.motion):
        enc.phase_rotation = cfg["phase_rotation"]
    with torch.no_grad():
        return {k: float(v) for k, v in MotionBeatObjective(model, cfg, negatives_rule="all")(batch).items()}


#: The variants of params.yaml (motionbeat.variants).
VARIANTS = load_params(REPO_ROOT / "params.yaml")["motionbeat"]["variants"]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_ablation_turns_off_what_it_names_and_leaves_the_other_terms(variant):
    B, L = 4, 16
    phase = torch.tensor([(i % 16) / 16 for i in range(L)])
    anchor = _batch(L, phase=phase, B=B)
    batch = {
        "piece_id": torch.arange(B),
        "music_start": torch.zeros(B),
        "anchor": anchor,
        "tempo_neg": _batch(L, phase=phase, B=2 * B, seed=1),
        "tempo_ok": torch.ones(B, 2, dtype=torch.bool),
        "jitter": _batch(L, phase=phase, B=4 * B, seed=2),
        "jitter_ok": torch.ones(B, 4, dtype=torch.bool),
    }
    full, ablated = _objective_terms("main", batch), _objective_terms(variant, batch)
    overrides = VARIANTS[variant]
    off_terms = {"sral_beat" for k in overrides if k == "sral.beat_weight"} | {
        "sral_bar" for k in overrides if k == "sral.bar_weight"
    }
    assert set(ablated) == set(full) - off_terms
    ecl_changes = any(k.endswith("negatives.weight") for k in overrides)
    encoder_changes = variant in ("no_phase", "no_contact")
    for term, value in ablated.items():
        if encoder_changes or (term == "ecl" and ecl_changes):
            assert value != pytest.approx(full[term], abs=1e-6), (variant, term)
        else:
            assert value == pytest.approx(full[term], abs=1e-6), (variant, term)
    assert all(np.isfinite(v) for v in ablated.values())


def test_training_step_benchmark_times_the_training_objective_at_both_sizes():
    from pipelines.config import load_params
    from pipelines.families.motionbeat.bench import step_rate, token_count

    params = load_params("params.yaml")
    params["train"]["batch_size"] = 4
    params["motionbeat"]["sizes"]["paper"] = {"width": 32, "layers": 1, "heads": 2, "embed_dim": 16}
    # 229 frames at 60 fps = 3.82 s = 7.6 beats at 120 bpm, 4 tokens a beat
    assert token_count(params, bpm=120) == 31
    small, paper = (step_rate(params, size, torch.device("cpu"), steps=1, bpm=120) for size in ("small", "paper"))
    assert small["windows_per_second"] > 0 and paper["windows_per_second"] > 0
    assert (small["width"], paper["width"]) == (params["motionbeat"]["width"], 32)
    assert small["parameters"] != paper["parameters"]
    assert small["encoded_windows_per_anchor"] == 1 + 2 + 4


def test_probe_reference_rows_read_the_input_tokens_and_their_bar_phase():
    from pipelines.families.motionbeat.stage_evaluate import input_token_states

    tokens = _tokens()
    plain = input_token_states(tokens, with_phase=False)
    phased = input_token_states(tokens, with_phase=True, harmonics=4)
    assert len(plain) == len(phased) == len(tokens.meta)
    first = tokens.win_start[1]
    np.testing.assert_array_equal(plain[1], tokens.tokens["audio"][first : first + 16].numpy())
    assert phased[1].shape == (16, 3 + 2 * 4)
    phase = tokens.tokens["phase"][first : first + 16].numpy()
    np.testing.assert_allclose(phased[1][:, 3 + 3], np.cos(2 * np.pi * 4 * phase), atol=1e-6)  # k = 4: the beat
    np.testing.assert_allclose(phased[1][:, 3 + 4], np.sin(2 * np.pi * phase), atol=1e-6)
