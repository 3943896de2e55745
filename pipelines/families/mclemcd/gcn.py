"""Adaptive graph convolution over a skeleton (the ST-GCN / AAGCN family).

:class:`Graph` turns a :class:`~pipelines.data.skeleton.Skeleton` into ST-GCN's three spatial
partitions (self, centripetal, centrifugal, relative to the root joints — both hips where the
skeleton's root is the pelvis centre, so left and right are treated alike), each normalised
by joint degree. :class:`GraphEncoder` stacks adaptive graph-conv blocks over
``(batch, channels, frames, joints)``: each block's adjacency is the fixed partition plus a
learned offset (AAGCN's ``B_k``) plus a data-dependent, softmax-normalised joint similarity
(AAGCN's ``C_k``), followed by a temporal convolution and a residual path.
"""

from __future__ import annotations

import numpy as np
import torch
from einops import rearrange
from torch import nn

from ...data.skeleton import Skeleton


class Graph:
    """The skeleton graph a GCN convolves over.

    Parameters
    ----------
    layout : str
        A :class:`~pipelines.data.skeleton.Skeleton` layout (``coco17``, ``mtd23``, ``mediapipe33``).
    """

    def __init__(self, layout: str):
        self.skeleton = Skeleton(layout)
        self.num_joints = self.skeleton.num_joints
        self.roots = tuple(self.skeleton.root_joints)
        self.hops = self.skeleton.hops
        self.parent_index = torch.as_tensor(self.skeleton.parents)  # built once, used by every forward pass

    def is_connected(self) -> bool:
        return bool((self.hops >= 0).all())

    def degree(self) -> np.ndarray:
        """Bones at each joint, shape (J,)."""
        return self.skeleton.degree()

    def parents(self) -> np.ndarray:
        """Each joint's neighbour one bone nearer the root (root joints are their own parents), shape (J,)."""
        return self.skeleton.parents

    def partitions(self) -> np.ndarray:
        """ST-GCN spatial partitions ``A[k, src, dst]``, shape (3, J, J): k = 0 self, 1 from the
        joint nearer the root (centripetal), 2 from the joint farther (centrifugal); every
        destination's incoming weights sum to 1 over the three partitions."""
        J = self.num_joints
        a = np.zeros((3, J, J), dtype=np.float32)
        a[0] = np.eye(J)
        for i, j in self.skeleton.edges:
            for src, dst in ((i, j), (j, i)):
                a[1 if self.hops[src] < self.hops[dst] else 2, src, dst] = 1.0
        return a / a.sum(axis=(0, 1), keepdims=True)

    def limbs(self, joints: torch.Tensor) -> torch.Tensor:
        """Bone vectors per joint, ``joints`` (..., J, 3): joint − its parent; a root joint's
        vector is from the root centre (the pelvis, mean of the root joints)."""
        parent_pos = joints[..., self.parent_index.to(joints.device), :].clone()
        roots = list(self.roots)
        parent_pos[..., roots, :] = joints[..., roots, :].mean(dim=-2, keepdim=True)
        return joints - parent_pos


class AdaptiveGraphConv(nn.Module):
    """One adaptive graph convolution: ``sum_k W_k x (A_k + B_k + C_k(x))``."""

    def __init__(self, c_in: int, c_out: int, partitions: torch.Tensor, *, embed: int = 8):
        super().__init__()
        k = partitions.shape[0]
        self.k, self.embed = k, embed
        self.register_buffer("A", partitions)
        self.B = nn.Parameter(torch.zeros_like(partitions))
        self.theta = nn.Conv2d(c_in, embed * k, 1)
        self.phi = nn.Conv2d(c_in, embed * k, 1)
        self.conv = nn.Conv2d(c_in, c_out * k, 1)
        self.bn = nn.BatchNorm2d(c_out)
        self.down = nn.Identity() if c_in == c_out else nn.Sequential(nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[2]
        q = rearrange(self.theta(x), "n (k e) t v -> n k v (e t)", k=self.k)
        key = rearrange(self.phi(x), "n (k e) t v -> n k (e t) v", k=self.k)
        # (n, k, src, dst), normalised over the sources of each destination joint (AAGCN's C_k)
        similarity = torch.softmax(q @ key / (self.embed * t), dim=-2)
        adj = self.A + self.B + similarity
        y = rearrange(self.conv(x), "n (k c) t v -> n k c t v", k=self.k)
        out = torch.einsum("nkctv,nkvw->nctw", y, adj)
        return torch.relu(self.bn(out) + self.down(x))


class GraphBlock(nn.Module):
    """Adaptive graph conv, then a temporal conv (kernel ``kt``, optional stride), with a residual."""

    def __init__(self, c_in: int, c_out: int, partitions: torch.Tensor, *, kt: int, stride: int = 1):
        super().__init__()
        self.gcn = AdaptiveGraphConv(c_in, c_out, partitions)
        self.tcn = nn.Sequential(nn.Conv2d(c_out, c_out, (kt, 1), (stride, 1), (kt // 2, 0)), nn.BatchNorm2d(c_out))
        if c_in == c_out and stride == 1:
            self.res = nn.Identity()
        else:
            self.res = nn.Sequential(nn.Conv2d(c_in, c_out, 1, (stride, 1)), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.tcn(self.gcn(x)) + self.res(x))


class GraphEncoder(nn.Module):
    """Skeleton sequence ``(batch, frames, joints, c_in)`` → embedding ``(batch, embed_dim)``.

    Parameters
    ----------
    graph : Graph
    c_in : int
        Input channels per joint (3 for joints or limbs, 6 for both).
    channels : list of int
        Output channels of each block (the paper: 64, 128, 256); the time axis halves at each
        change of width.
    embed_dim : int
        Embedding size (the paper: 256).
    kt : int
        Temporal kernel size, frames.
    """

    def __init__(self, graph: Graph, *, c_in: int, channels: list[int], embed_dim: int, kt: int = 9):
        super().__init__()
        parts = torch.from_numpy(graph.partitions())
        self.data_bn = nn.BatchNorm1d(c_in * graph.num_joints)
        blocks, prev = [], c_in
        for i, c in enumerate(channels):
            blocks.append(GraphBlock(prev, c, parts, kt=kt, stride=2 if i > 0 and c != prev else 1))
            prev = c
        self.blocks = nn.Sequential(*blocks)
        self.proj = nn.Linear(prev, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, v, c = x.shape
        x = rearrange(self.data_bn(rearrange(x, "n t v c -> n (v c) t")), "n (v c) t -> n c t v", v=v, c=c)
        x = self.blocks(x)
        return self.proj(x.mean(dim=(2, 3)))
