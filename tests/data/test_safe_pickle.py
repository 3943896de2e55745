import os
import pickle

import numpy as np
import pytest

from pipelines.data.datasets import load_keypoints
from pipelines.data.safe_pickle import load_pickle, load_pickle_dict
from pipelines.errors import InputError


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_runs_no_code(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pkl"
    bad.write_bytes(pickle.dumps({"keypoints3d": _Evil(marker)}))
    with pytest.raises(InputError) as exc:
        load_pickle(bad)
    assert not marker.exists(), "the pickle ran code"
    assert str(bad) in str(exc.value) and ("posix.system" in str(exc.value) or "os.system" in str(exc.value))
    # sanity: the same file really would run code with plain pickle
    pickle.loads(bad.read_bytes())
    assert marker.exists()


def test_foreign_class_refused(tmp_path):
    bad = tmp_path / "foreign.pkl"
    bad.write_bytes(pickle.dumps({"x": __import__("collections").OrderedDict(a=1)}))
    with pytest.raises(InputError, match="refused foreign class collections.OrderedDict"):
        load_pickle(bad)


def test_object_arrays_refused(tmp_path):
    bad = tmp_path / "obj.pkl"
    bad.write_bytes(pickle.dumps({"keypoints3d": np.array([1, "a"], dtype=object)}))
    with pytest.raises(InputError, match="object-dtype"):
        load_pickle(bad)


def test_missing_keys_and_truncation(tmp_path):
    f = tmp_path / "k.pkl"
    f.write_bytes(pickle.dumps({"other": np.zeros(3)}))
    with pytest.raises(InputError, match=r"missing keys \['keypoints3d'\]"):
        load_pickle_dict(f, required=("keypoints3d",))
    t = tmp_path / "trunc.pkl"
    t.write_bytes(pickle.dumps({"keypoints3d": np.zeros((10, 17, 3))})[:50])
    with pytest.raises(InputError, match="pickle"):
        load_pickle(t)


def test_real_aistpp_pickles_load(aistpp_root):
    kp_files = sorted((aistpp_root / "annotations" / "keypoints3d").glob("*.pkl"))
    assert len(kp_files) == 4
    n_with_nan = 0
    for f in kp_files:
        kp = load_keypoints(f, "keypoints3d")
        opt = load_keypoints(f, "keypoints3d_optim")
        assert kp.shape[1:] == (17, 3) and kp.shape == opt.shape
        assert not np.isnan(opt).any()
        n_with_nan += bool(np.isnan(kp).any())
    assert n_with_nan == 2
    for f in sorted((aistpp_root / "annotations" / "motions").glob("*.pkl")):
        d = load_pickle_dict(f, required=("smpl_poses", "smpl_trans", "smpl_scaling"))
        assert d["smpl_poses"].shape[1] == 72
