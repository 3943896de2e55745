import json

import numpy as np
import pytest
import torch

from pipelines.data.skeleton import Skeleton


@pytest.mark.parametrize("layout, joints", [("coco17", 17), ("mtd23", 23)])
def test_layouts_are_connected_trees(layout, joints):
    sk = Skeleton(layout)
    assert sk.num_joints == joints
    assert len(sk.edges) == joints - 1
    assert sk.is_connected_tree()
    assert (sk.degree() >= 1).all()
    assert sk.adjacency().sum() == 2 * len(sk.edges)


def test_coco_degrees():
    deg = dict(zip(Skeleton("coco17").joints, Skeleton("coco17").degree()))
    assert deg["left_wrist"] == 1 and deg["left_elbow"] == 2 and deg["left_shoulder"] == 3 and deg["nose"] == 4


def test_unknown_layout():
    with pytest.raises(ValueError, match="unknown skeleton layout"):
        Skeleton("smpl99")


def test_mtd23_edges_are_rigid_bones_on_real_data(mtd_root):
    """Each MusicToDance edge joins two joints whose distance barely changes over a dance,
    far less than the distance between joints that share no bone."""
    sk = Skeleton("mtd23")
    non_edge = np.triu(1 - sk.adjacency() - np.eye(sk.num_joints)) > 0
    edge_sd, other_sd = [], []
    for dance in sorted(mtd_root.glob("DANCE_*")):
        kp = np.asarray(json.loads((dance / "skeletons.json").read_text())["skeletons"])
        lengths = np.linalg.norm(sk.bones(kp), axis=-1)  # (T, E), cm
        cv = lengths.std(0) / lengths.mean(0)
        assert np.median(cv) < 0.1 and cv.max() < 0.35, (dance.name, sk.edges[int(cv.argmax())], cv.max())
        D = np.linalg.norm(kp[:, :, None] - kp[:, None], axis=-1)
        edge_sd.append(lengths.std(0).mean())
        other_sd.append(D.std(0)[non_edge].mean())
    assert np.mean(edge_sd) < 0.5 * np.mean(other_sd), (edge_sd, other_sd)


@pytest.mark.parametrize("layout", ["coco17", "mtd23", "mediapipe33"])
def test_one_tree_one_direction(layout):
    """Every bone points away from the root: per edge (``bones``) and per joint (MCLEMCD's limbs)
    the vector is child − parent with the parent one hop nearer the root joints."""
    from pipelines.families.mclemcd.gcn import Graph

    sk = Skeleton(layout)
    assert (sk.hops >= 0).all()
    pairs = sk.bone_pairs
    assert (sk.hops[pairs[:, 0]] + 1 == sk.hops[pairs[:, 1]]).all()
    rng = np.random.default_rng(0)
    joints = rng.standard_normal((3, sk.num_joints, 3))
    bones = sk.bones(joints)
    limbs = Graph(layout).limbs(torch.from_numpy(joints)).numpy()
    for e, (parent, child) in enumerate(pairs):
        np.testing.assert_allclose(bones[:, e], joints[:, child] - joints[:, parent])
        if sk.parents[child] == parent:  # the joint's own bone: the same vector in both
            np.testing.assert_allclose(bones[:, e], limbs[:, child])


def test_coco_torso_and_head_point_up_from_the_hips():
    sk = Skeleton("coco17")
    rest = np.zeros((1, 17, 3))
    rest[0, :, 1] = [160, 164, 164, 162, 162, 145, 145, 118, 118, 92, 92, 95, 95, 52, 52, 8, 8]  # heights, cm
    bones = dict(zip(sk.edges, sk.bones(rest)[0]))
    assert bones[(5, 11)][1] > 0 and bones[(0, 5)][1] > 0  # hip -> shoulder -> nose: upwards
    assert bones[(11, 13)][1] < 0  # hip -> knee: downwards
