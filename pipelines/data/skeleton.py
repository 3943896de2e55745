"""The skeletons this project knows, owned by one small class.

``Skeleton(layout="coco17")`` is the 17-joint COCO layout used by AIST++
``keypoints3d`` (and by the synthetic dataset); ``Skeleton(layout="mtd23")`` is the
23-joint skeleton of the MusicToDance dataset (Tang et al. 2018);
``Skeleton(layout="mediapipe33")`` the 33 landmarks of MediaPipe Pose (YouTube clips).

One tree, one direction: each skeleton is a tree rooted at its root joints (the hips, or
the pelvis for ``mtd23``). :attr:`Skeleton.hops` counts bones from the root, each joint's
:attr:`Skeleton.parents` entry is its neighbour one bone nearer the root, and every bone
vector this project computes points away from the root, child − parent: per edge in
:meth:`Skeleton.bones` (the shards' ``motion/bones``) and per joint in
the ``limbs`` input of MCLEMCD's graph network.

The MusicToDance release ships no joint names. Its bone list below was read off the
released ``skeletons.json`` files: every edge joins two joints whose distance stays
nearly constant over a dance (a bone), and together the edges form one tree. The
names are our anatomical reading of those positions, not the dataset's own.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

_LAYOUTS: dict[str, dict] = {
    "coco17": {
        "joints": (
            "nose",
            "left_eye",
            "right_eye",
            "left_ear",
            "right_ear",
            "left_shoulder",
            "right_shoulder",
            "left_elbow",
            "right_elbow",
            "left_wrist",
            "right_wrist",
            "left_hip",
            "right_hip",
            "left_knee",
            "right_knee",
            "left_ankle",
            "right_ankle",
        ),
        # 16 edges: a tree over the 17 joints (the nose stands in for the neck).
        "edges": (
            (0, 5),
            (0, 6),
            (5, 11),
            (6, 12),
            (5, 7),
            (7, 9),
            (6, 8),
            (8, 10),
            (11, 13),
            (13, 15),
            (12, 14),
            (14, 16),
            (0, 1),
            (0, 2),
            (1, 3),
            (2, 4),
        ),
        "root": (11, 12),  # root = mean of these joints (pelvis)
        "scale": ((5, 11), (6, 12)),  # torso edges whose mean length sets the scale
        "up_axis": 1,
        "contact": ((15,), (16,)),  # foot contact, (left foot joints, right foot joints): the ankles
    },
    "mtd23": {
        "joints": (
            "neck",
            "head",
            "pelvis",
            "right_shoulder",
            "right_elbow",
            "right_forearm",
            "right_wrist",
            "right_hip",
            "right_knee",
            "right_ankle",
            "right_heel",
            "right_toe",
            "left_shoulder",
            "left_elbow",
            "left_forearm",
            "left_wrist",
            "left_hip",
            "left_knee",
            "left_ankle",
            "left_heel",
            "left_toe",
            "left_forearm_twist",
            "right_hand",
        ),
        # 22 edges: a tree over the 23 joints, rooted at the pelvis.
        "edges": (
            (2, 0),
            (0, 1),
            (0, 3),
            (0, 12),
            (3, 4),
            (4, 5),
            (5, 6),
            (6, 22),
            (12, 13),
            (13, 14),
            (14, 15),
            (13, 21),
            (2, 7),
            (7, 8),
            (8, 9),
            (9, 10),
            (10, 11),
            (2, 16),
            (16, 17),
            (17, 18),
            (18, 19),
            (19, 20),
        ),
        "root": (2,),
        "scale": ((2, 0),),
        "up_axis": 1,
        "contact": ((18, 19, 20), (9, 10, 11)),  # ankle, heel, toe of each foot
    },
    "mediapipe33": {
        "joints": (
            "nose",
            "left_eye_inner",
            "left_eye",
            "left_eye_outer",
            "right_eye_inner",
            "right_eye",
            "right_eye_outer",
            "left_ear",
            "right_ear",
            "mouth_left",
            "mouth_right",
            "left_shoulder",
            "right_shoulder",
            "left_elbow",
            "right_elbow",
            "left_wrist",
            "right_wrist",
            "left_pinky",
            "right_pinky",
            "left_index",
            "right_index",
            "left_thumb",
            "right_thumb",
            "left_hip",
            "right_hip",
            "left_knee",
            "right_knee",
            "left_ankle",
            "right_ankle",
            "left_heel",
            "right_heel",
            "left_foot_index",
            "right_foot_index",
        ),
        # 32 edges: MediaPipe's POSE_CONNECTIONS made a tree (the nose stands in for the neck;
        # the shoulder-shoulder, hip-hip, mouth and hand/foot loops are opened).
        "edges": (
            (0, 1),
            (1, 2),
            (2, 3),
            (3, 7),
            (0, 4),
            (4, 5),
            (5, 6),
            (6, 8),
            (0, 9),
            (0, 10),
            (0, 11),
            (0, 12),
            (11, 23),
            (12, 24),
            (11, 13),
            (13, 15),
            (15, 17),
            (15, 19),
            (15, 21),
            (12, 14),
            (14, 16),
            (16, 18),
            (16, 20),
            (16, 22),
            (23, 25),
            (25, 27),
            (27, 29),
            (27, 31),
            (24, 26),
            (26, 28),
            (28, 30),
            (28, 32),
        ),
        "root": (23, 24),
        "scale": ((11, 23), (12, 24)),
        "up_axis": 1,  # after loading: MediaPipe's y points down, the loader flips it
        "contact": ((27, 29, 31), (28, 30, 32)),  # ankle, heel, foot index of each foot
    },
}


@dataclass(frozen=True)
class Skeleton:
    """A named joint layout with its bone graph.

    Parameters
    ----------
    layout : {"coco17", "mtd23", "mediapipe33"}
        Which skeleton.
    """

    layout: str
    joints: tuple[str, ...] = field(init=False)
    edges: tuple[tuple[int, int], ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.layout not in _LAYOUTS:
            raise ValueError(f"unknown skeleton layout {self.layout!r}; known: {sorted(_LAYOUTS)}")
        spec = _LAYOUTS[self.layout]
        object.__setattr__(self, "joints", spec["joints"])
        object.__setattr__(self, "edges", spec["edges"])

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def root_joints(self) -> tuple[int, ...]:
        return _LAYOUTS[self.layout]["root"]

    @property
    def scale_edges(self) -> tuple[tuple[int, int], ...]:
        return _LAYOUTS[self.layout]["scale"]

    @property
    def up_axis(self) -> int:
        return _LAYOUTS[self.layout]["up_axis"]

    @property
    def contact_joints(self) -> tuple[tuple[int, ...], ...]:
        """The joints that touch the floor, one tuple per foot (left, right): what foot contact
        is read from (MotionBeat's contact pulse, the data report's ankle lift). Empty for a
        layout without feet."""
        return _LAYOUTS[self.layout].get("contact", ())

    def adjacency(self) -> np.ndarray:
        """Symmetric 0/1 adjacency matrix, shape (J, J), no self loops."""
        a = np.zeros((self.num_joints, self.num_joints), dtype=np.float32)
        for i, j in self.edges:
            a[i, j] = a[j, i] = 1.0
        return a

    def degree(self) -> np.ndarray:
        """Number of bones at each joint, shape (J,)."""
        return self.adjacency().sum(axis=1).astype(int)

    def is_connected_tree(self) -> bool:
        """True when the edges connect every joint with no cycle."""
        parent = list(range(self.num_joints))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i, j in self.edges:
            ri, rj = find(i), find(j)
            if ri == rj:
                return False
            parent[ri] = rj
        return len(self.edges) == self.num_joints - 1

    @cached_property
    def hops(self) -> np.ndarray:
        """Bones between each joint and the nearest root joint, shape (J,); -1 if unreachable."""
        adj = self.adjacency()
        hops = np.full(self.num_joints, -1)
        hops[list(self.root_joints)] = 0
        queue = deque(self.root_joints)
        while queue:
            i = queue.popleft()
            for j in np.flatnonzero(adj[i]):
                if hops[j] < 0:
                    hops[j] = hops[i] + 1
                    queue.append(j)
        return hops

    @cached_property
    def parents(self) -> np.ndarray:
        """Each joint's neighbour one bone nearer the root (the first by index where two are),
        shape (J,); root joints are their own parents."""
        adj = self.adjacency()
        parents = np.arange(self.num_joints)
        for i in range(self.num_joints):
            closer = [j for j in np.flatnonzero(adj[i]) if self.hops[j] == self.hops[i] - 1]
            if closer:
                parents[i] = closer[0]
        return parents

    @cached_property
    def mirror_index(self) -> np.ndarray:
        """The joint permutation that swaps left and right (``left_*`` ↔ ``right_*``), shape (J,);
        joints without a side map to themselves. With the lateral coordinate negated it mirrors a pose."""
        index = np.arange(self.num_joints)
        for i, name in enumerate(self.joints):
            for side, other in (("left_", "right_"), ("right_", "left_")):
                if name.startswith(side) and other + name[len(side) :] in self.joints:
                    index[i] = self.joints.index(other + name[len(side) :])
        return index

    @cached_property
    def bone_pairs(self) -> np.ndarray:
        """Every edge as (parent, child), the parent nearer the root; shape (E, 2), in ``edges`` order."""
        return np.array([(i, j) if self.hops[i] < self.hops[j] else (j, i) for i, j in self.edges], dtype=np.int64)

    def bones(self, joints: np.ndarray) -> np.ndarray:
        """Bone vectors child − parent, pointing away from the root (see the module docstring).

        Parameters
        ----------
        joints : np.ndarray, shape (T, J, 3)
            Joint positions (any length unit).

        Returns
        -------
        np.ndarray, shape (T, E, 3)
            One vector per edge, in ``edges`` order, same unit as ``joints``.
        """
        pairs = self.bone_pairs
        return joints[:, pairs[:, 1]] - joints[:, pairs[:, 0]]
