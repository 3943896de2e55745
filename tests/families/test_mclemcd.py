"""MCLEMCD: the skeleton graph, the input variants, the two-phase schedule, scoring, the stage
and the recommendation command."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelines.config import REPO_ROOT
from pipelines.families.mclemcd import model as M
from pipelines.families.mclemcd import stage_train as stage
from pipelines.families.mclemcd.gcn import Graph
from pipelines.families.mclemcd.variants import Variant, ablation_variants

from ..helpers import make_params, run_all, write_params


@pytest.mark.parametrize("layout, joints, edges", [("coco17", 17, 16), ("mtd23", 23, 22), ("mediapipe33", 33, 32)])
def test_graph_is_connected_and_partitions_normalise(layout, joints, edges):
    g = Graph(layout)
    assert g.num_joints == joints and len(g.skeleton.edges) == edges and g.is_connected()
    a = g.partitions()
    assert a.shape == (3, joints, joints)
    np.testing.assert_allclose(a.sum(axis=(0, 1)), 1.0, rtol=1e-6)  # every joint's incoming weights
    # each bone appears once as centripetal and once as centrifugal, in opposite directions
    assert ((a[1] > 0) == (a[2] > 0).T).all() and (a[1] > 0).sum() == edges
    parents = g.parents()
    assert all(parents[r] == r for r in g.roots)
    assert all(g.hops[parents[j]] == g.hops[j] - 1 for j in range(joints) if j not in g.roots)


def test_graph_degrees_per_joint():
    deg = dict(zip(Graph("coco17").skeleton.joints, Graph("coco17").degree()))
    assert deg == {
        "nose": 4,
        "left_eye": 2,
        "right_eye": 2,
        "left_ear": 1,
        "right_ear": 1,
        "left_shoulder": 3,
        "right_shoulder": 3,
        "left_elbow": 2,
        "right_elbow": 2,
        "left_wrist": 1,
        "right_wrist": 1,
        "left_hip": 2,
        "right_hip": 2,
        "left_knee": 2,
        "right_knee": 2,
        "left_ankle": 1,
        "right_ankle": 1,
    }
    mtd = dict(zip(Graph("mtd23").skeleton.joints, Graph("mtd23").degree()))
    assert mtd["neck"] == 4 and mtd["pelvis"] == 3 and mtd["left_elbow"] == 3 and mtd["right_toe"] == 1
    # the released MCLEMCD graph kept only 8 limb edges: that body falls apart into pieces
    limbs_only = [(5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16)]
    parent = list(range(17))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i, j in limbs_only:
        parent[find(i)] = find(j)
    assert len({find(i) for i in range(17)}) > 1


def test_limbs_are_bones_to_the_parent_and_symmetric():
    g = Graph("coco17")
    assert g.roots == (11, 12) and g.hops[11] == g.hops[12] == 0 and g.hops[5] == g.hops[6] == 1
    joints = torch.randn(2, 5, 17, 3)
    limbs = g.limbs(joints)
    pelvis = joints[..., [11, 12], :].mean(dim=-2)
    assert torch.allclose(limbs[..., 11, :], joints[..., 11, :] - pelvis)
    assert torch.allclose(limbs[..., 11, :], -limbs[..., 12, :], atol=1e-6)
    j = 9  # left wrist: its parent is the left elbow
    assert g.parents()[j] == 7 and torch.allclose(limbs[..., j, :], joints[..., 9, :] - joints[..., 7, :])
    # left and right mirror each other: the same hop count for every left/right pair
    names = g.skeleton.joints
    for i, n in enumerate(names):
        if n.startswith("left_"):
            assert g.hops[i] == g.hops[names.index("right_" + n[5:])], n


def test_adaptive_similarity_is_normalised_over_sources():
    from pipelines.families.mclemcd.gcn import AdaptiveGraphConv

    conv = AdaptiveGraphConv(3, 4, torch.from_numpy(Graph("coco17").partitions()))
    x = torch.randn(2, 3, 5, 17)
    captured = {}
    real_softmax = torch.softmax

    def spy(t, dim):
        out = real_softmax(t, dim=dim)
        captured["sim"] = out
        return out

    torch.softmax = spy
    try:
        conv(x)
    finally:
        torch.softmax = real_softmax
    # (n, k, src, dst): every destination joint's incoming weights sum to 1, like the partitions
    assert torch.allclose(captured["sim"].sum(dim=-2), torch.ones(2, 3, 17), atol=1e-5)


def _cfg(**kw):
    params = make_params(REPO_ROOT / "unused")
    cfg = M.resolve_config(params)
    cfg.update(channels=[4, 8], music_channels=[4, 8], embed_dim=8, mapping_hidden=[16], temporal_kernel=3, **kw)
    return cfg


def _model(variant, frames=25, genres=("A", "B", "C")):
    return M.MCLEMCD(
        layout="coco17",
        genres=list(genres),
        variant=variant,
        cfg=_cfg(),
        n_mels=96,
        frames=frames,
        mel_mean=torch.zeros(96),
        mel_std=torch.ones(96),
    ).eval()


@pytest.mark.parametrize("inp, encoders, c_in", [("joints", 1, 3), ("limbs", 1, 3), ("early", 1, 6), ("late", 2, 3)])
def test_fusion_variants_shapes(inp, encoders, c_in):
    model = _model(Variant(True, "fc", inp))
    assert len(model.encoders) == encoders
    for enc in model.encoders.values():
        assert enc.data_bn.num_features == c_in * 17
    code, logits = model.motion(torch.randn(4, 25, 17, 3))
    assert code.shape == (4, 8) and logits.shape == (4, 3)
    assert model.dance_code(torch.randn(4, 25, 17, 3)).shape == (4, 8)


def test_late_fusion_sums_the_two_streams_logits():
    model = _model(Variant(False, "plain", "late"))
    x = torch.randn(3, 25, 17, 3)
    zj = model.encoders["joints"](x)
    zl = model.encoders["limbs"](model.graph.limbs(x))
    expected = model.heads["joints"](zj) + model.heads["limbs"](zl)
    assert torch.allclose(model.motion(x)[1], expected, atol=1e-5)


@pytest.mark.parametrize("frames", [25, 229])
def test_music_autoencoder_round_trip_shape(frames):
    ae = M.MusicAutoencoder(n_mels=96, frames=frames, channels=[4, 8, 8], embed_dim=16)
    mel = torch.randn(2, frames, 96)
    assert ae.encode(mel).shape == (2, 16) and ae.decode(ae.encode(mel)).shape == mel.shape


def test_two_phase_schedule():
    assert M.loss_terms(0, phase1_epochs=2, collaborative=True) == ("genre", "music_recon")
    assert M.loss_terms(1, phase1_epochs=2, collaborative=True) == ("genre", "music_recon")
    assert M.loss_terms(2, phase1_epochs=2, collaborative=True) == ("genre", "music_recon", "pair", "motion_to_music")
    assert M.loss_terms(5, phase1_epochs=2, collaborative=False) == ("genre", "music_recon")
    variants = ablation_variants(
        {
            "collaborative": [False, True],
            "regulariser": ["plain", "dropout", "fc"],
            "input": ["joints", "limbs", "late", "early"],
        }
    )
    assert len(variants) == 20 and Variant(False, "fc", "joints") not in variants


def _grads(model, loss):
    model.zero_grad()
    loss.backward(retain_graph=True)
    motion = [p.grad for p in model.encoders.parameters()]
    music = [p.grad for p in model.music.encoder.parameters()]
    nonzero = lambda gs: any(g is not None and g.abs().sum() > 0 for g in gs)  # noqa: E731
    return nonzero(motion), nonzero(music)


def test_phase_one_trains_the_parts_independently_and_phase_two_couples_them():
    model = _model(Variant(True, "fc", "joints")).train()
    x, mel, y = torch.randn(6, 25, 17, 3), torch.randn(6, 25, 96), torch.tensor([0, 1, 2, 0, 1, 2])
    phase1 = model.losses(x, mel, y, M.loss_terms(0, phase1_epochs=1, collaborative=True))
    assert set(phase1) == {"genre", "music_recon"}
    assert _grads(model, phase1["music_recon"]) == (False, True)  # music loss never reaches the motion encoder
    assert _grads(model, phase1["genre"]) == (True, False)
    phase2 = model.losses(x, mel, y, M.loss_terms(1, phase1_epochs=1, collaborative=True))
    assert set(phase2) == {"genre", "music_recon", "pair", "motion_to_music"}
    assert _grads(model, phase2["pair"]) == (True, True)
    assert _grads(model, phase2["motion_to_music"])[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mclemcd")
    params = make_params(tmp)
    # two training pieces per genre (the tiny default has one), so genres must generalise across music
    params["datasets"]["synthetic"].update(pieces_per_genre=4, basic_per_piece=2)
    params["mclemcd"]["sizes"]["small"].update(phase1_epochs=4, phase2_epochs=4, epoch_windows=0, batch_size=32)
    params["mclemcd"]["ablation"] = {"collaborative": [False, True], "regulariser": ["plain", "fc"], "input": ["late"]}
    params["mclemcd"]["main"] = {"collaborative": True, "regulariser": "fc", "input": "late"}
    run_all(params)
    stage.main(params, grid="ablation")  # the grid (target ablations)
    stage.main(params)  # the main variant (target all), which pipelines.families.mclemcd.recommend loads
    return params, write_params(tmp / "params.yaml", params)


@pytest.mark.slow
def test_stage_learns_the_planted_genres_and_writes_the_table(trained):
    params, _ = trained
    res = params["results_dir"] + "/synthetic/mclemcd_ablation"
    summary = json.loads(open(f"{res}/metrics.json").read())
    assert set(summary["variants"]) == {"nocl_plain_late", "cl_plain_late", "cl_fc_late"}
    main = json.loads(open(params["results_dir"] + "/synthetic/mclemcd/metrics.json").read())
    assert set(main["variants"]) == {"cl_fc_late"}
    for name, r in summary["variants"].items():
        assert r["windows"] > 50 and r["pieces"] == 3
        # 3 genres, one unseen test piece each: far above the majority class
        assert r["window_accuracy"] > r["majority_class_window"] + 0.25, (name, r)
    table = open(f"{res}/tables/ablation.md").read()
    assert "| with | fc |" in table and "| without | plain |" in table and "| without | fc |" not in table
    assert open(f"{res}/tables/confusion_cl_fc_late.csv").readline().startswith("truth\\predicted,BR,HO,JB")


@pytest.mark.slow
def test_recommend_command(trained, mtd_root):
    params, cfg = trained
    # a test-split dance (piece mJB2 is unseen in training)
    seq = sorted((Path(params["data_dir"]) / "synthetic" / "raw" / "annotations" / "keypoints3d").glob("gJB_*mJB2*"))[0]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.families.mclemcd.recommend",
            "--params",
            str(cfg),
            "--motion",
            str(seq),
            "--json",
            str(cfg.parent / "rec.json"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    rec = json.loads((cfg.parent / "rec.json").read_text())
    assert rec["predicted_genre"] == "JB" and len(rec["recommendations"]) == 3
    # three JB pieces in the library (their order by cosine similarity: the test below)
    assert [r["genre"] for r in rec["recommendations"]] == ["JB"] * 3
    wrong = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.families.mclemcd.recommend",
            "--params",
            str(cfg),
            "--motion",
            str(mtd_root / "DANCE_C_2" / "skeletons.json"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 1 and wrong.stderr.strip().splitlines()[-1].endswith(
        "has 23 joints, the coco17 skeleton has 17"
    )


def _at(degrees: float, norm: float) -> torch.Tensor:
    """A 2-d code at ``degrees`` from the x axis with length ``norm``."""
    a = np.deg2rad(degrees)
    return torch.tensor([norm * np.cos(a), norm * np.sin(a)], dtype=torch.float32)


def test_recommendations_rank_the_predicted_genre_by_cosine_similarity():
    """Five library pieces share the predicted genre: they come first, in descending cosine
    similarity to the dance's mean code; the list is then filled from the other genres, most
    similar first. The codes' lengths and names are chosen so that Euclidean distance, the dot
    product, piece names or library order would each give a different list."""
    from pipelines.families.mclemcd.recommend import recommend

    class KnownModel:  # MCLEMCD's interface as recommend() uses it, with known genre logits and codes
        genres = ["BR", "HO", "JB"]

        def motion(self, joints):
            return None, torch.tensor([[0.0, 3.0, 1.0], [0.0, 2.0, 1.0], [1.0, 0.0, 2.0]])  # HO, HO, JB

        def dance_code(self, joints):
            # windows at 45 and -45 degrees: their mean points along x (the first window alone would not)
            return torch.stack([_at(45, 2.0), _at(-45, 2.0)])

    angle_norm = {  # piece: (genre, angle from the dance's code in degrees, code length)
        "hA": ("HO", 50, 10.0),
        "hE": ("HO", 0, 5.0),
        "hC": ("HO", 30, 3.0),
        "hD": ("HO", 70, 1.0),
        "hB": ("HO", 10, 0.2),
        "bX": ("BR", 5, 1.0),  # other genres, as close to the dance as any HO piece
        "jY": ("JB", 1, 1.0),
    }
    library = [{"piece": p, "genre": g, "code": _at(a, n)} for p, (g, a, n) in angle_norm.items()]
    out = recommend(KnownModel(), np.zeros((3, 25, 17, 3), dtype=np.float32), library, top=7)
    assert out["predicted_genre"] == "HO" and out["genre_votes"] == {"HO": 2, "JB": 1}
    ranked = [r["piece"] for r in out["recommendations"]]
    assert ranked == ["hE", "hB", "hC", "hA", "hD", "jY", "bX"]
    assert [r["same_genre"] for r in out["recommendations"]] == [True] * 5 + [False] * 2
    dance = _at(0, np.sqrt(2.0))  # the mean of the two window codes
    code = {item["piece"]: item["code"] for item in library}
    cosine = {p: float(torch.cosine_similarity(dance, c, dim=0)) for p, c in code.items()}
    for r in out["recommendations"]:
        assert r["similarity"] == pytest.approx(cosine[r["piece"]], abs=1e-4)
        assert r["similarity"] == pytest.approx(np.cos(np.deg2rad(angle_norm[r["piece"]][1])), abs=1e-4)
    sims = [r["similarity"] for r in out["recommendations"]]
    assert sims[:5] == sorted(sims[:5], reverse=True) and sims[5:] == sorted(sims[5:], reverse=True)
    # the same genre filter with any other order would give another list
    same = [p for p, (g, _, _) in angle_norm.items() if g == "HO"]
    others = {
        "euclidean": sorted(same, key=lambda p: float((dance - code[p]).norm())),
        "dot product": sorted(same, key=lambda p: -float(dance @ code[p])),
        "name": sorted(same),
        "library order": same,
        "first window only": sorted(same, key=lambda p: -float(torch.cosine_similarity(_at(45, 2.0), code[p], dim=0))),
    }
    for name, order in others.items():
        assert order != ranked[:5], name
    top3 = recommend(KnownModel(), np.zeros((3, 25, 17, 3), dtype=np.float32), library, top=3)
    assert [r["piece"] for r in top3["recommendations"]] == ranked[:3]
