"""Per-item stages split into jobs (``cluster.fan_out``): the parts cover every item once, and the
gathered output is what one job over all items writes, byte for byte (clip summaries, feature folders)."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from pipelines.cli import take_part
from pipelines.config import REPO_ROOT, Paths, load_params
from pipelines.dag import stages
from pipelines.errors import InputError
from pipelines.ingest.clips import summary_file
from pipelines.stages import gather_parts, stems


def test_parts_cover_every_clip_once_and_keep_their_clips_when_clips_are_added():
    clips = [f"clip_{i}" for i in range(10)]
    parts = [take_part(clips, (i, 3)) for i in range(3)]
    assert sorted(c for p in parts for c in p) == clips and [len(p) for p in parts] == [4, 3, 3]
    assert take_part(clips, None) == clips
    more = clips + ["clip_9x"]
    assert all(set(take_part(clips, (i, 3))) <= set(take_part(more, (i, 3))) for i in range(3))


def test_the_dag_fans_the_per_clip_stages_out_into_parts_and_a_gather():
    params = load_params(REPO_ROOT / "params.yaml")
    params["dataset"] = "youtube"
    single = stages(params)
    params["cluster"]["fan_out"] = 4
    st = stages(params)
    for name in ("pose", "stems", "encodec"):
        parts = [st[f"{name}_part{i}"] for i in range(4)]
        assert [p.args for p in parts] == [f"--part {i}/4" for i in range(4)]
        assert all(p.module_name == f"pipelines.stages.{name}" and p.gpu == single[name].gpu for p in parts)
        assert st[name].outs == single[name].outs and st[name].module_name == "pipelines.stages.gather_parts"
        assert sorted(st[name].inputs) == sorted(p.outs[0] for p in parts)
    assert st["encodec_part0"].inputs == single["encodec"].inputs  # the gathered stems summary
    # the feature stages too (synthetic): parts write part folders, the gather the stage's folder
    synthetic = load_params(REPO_ROOT / "params.yaml")
    synthetic["cluster"]["fan_out"] = 3
    st3, st1 = stages(synthetic), stages(load_params(REPO_ROOT / "params.yaml"))
    for name in ("audio_features", "motion_features"):
        out = st1[name].outs[0]
        assert [st3[f"{name}_part{i}"].outs for i in range(3)] == [[f"{out}.part{i}of3"] for i in range(3)]
        assert st3[name].outs == [out] and st3[name].out_dirs == [out] and st3[name].args == f"--what {name}"
        assert str(Paths(synthetic).index) in st3[name].inputs  # the gather reads the items' order
    assert st3["windows"].inputs == st1["windows"].inputs
    # a 1000-clip list at fan_out 1000: that many jobs per per-clip stage
    params["cluster"]["fan_out"] = 1000
    assert sum(n.startswith("pose_part") for n in stages(params)) == 1000


def test_gathered_parts_equal_one_job_over_every_clip(tmp_path, shared_data):
    from pipelines.data.audio_io import read_audio_mono

    y, sr = read_audio_mono(shared_data / "youtube" / "clip_0_0" / "audio.wav", min_sample_rate=8000, min_seconds=1)
    params = load_params(REPO_ROOT / "params.yaml")
    params["stems"]["backend"] = "hpss"
    rng = np.random.default_rng(0)
    for i in range(5):
        d = tmp_path / "one" / f"clip_{i}_0"
        d.mkdir(parents=True)
        start = int(rng.integers(0, len(y) - 2 * sr))
        sf.write(d / "audio.wav", y[start : start + 2 * sr], sr)
    shutil.copytree(tmp_path / "one", tmp_path / "split")
    params["youtube"]["target"] = str(tmp_path / "one")
    stems.main(params)
    params["youtube"]["target"] = str(tmp_path / "split")
    params["cluster"]["fan_out"] = 2
    with pytest.raises(InputError, match=r"part 0 of 2 has not run"):
        gather_parts.main(params, what="stems_summary")
    stems.main(params, part=(1, 2))
    stems.main(params, part=(0, 2))
    assert [
        len(json.loads(summary_file(tmp_path / "split", "stems_summary", (i, 2)).read_text())) for i in range(2)
    ] == [3, 2]
    gather_parts.main(params, what="stems_summary")
    one = (tmp_path / "one" / "stems_summary.json").read_bytes()
    assert (tmp_path / "split" / "stems_summary.json").read_bytes() == one


def test_feature_stages_in_parts_write_the_folders_one_job_writes(tmp_path):
    from pipelines.config import Paths
    from pipelines.files import read_csv
    from pipelines.stages import acquire, audio_features, motion_features

    from ..helpers import make_params

    params = make_params(tmp_path / "one", on_error="skip")
    acquire.main(params)
    rows = read_csv(Paths(params).index / "sequences.csv")
    # two sequences without keypoints and one unreadable piece: skipped.csv rows that the
    # gather must put back in the one job's order
    for row in (rows[0], rows[-1]):
        for f in Paths(params).raw.rglob(f"{row['sequence']}.pkl"):
            f.unlink()
    (Paths(params).raw / "music" / f"{rows[1]['piece']}.wav").write_bytes(b"not a wav")
    split = make_params(tmp_path / "split", on_error="skip")
    split["cluster"] = {**split.get("cluster", {}), "fan_out": 3}
    shutil.copytree(Paths(params).base, Paths(split).base)
    audio_features.main(params)
    motion_features.main(params)
    with pytest.raises(InputError, match=r"part 0 of 3 has not run"):
        gather_parts.main(split, what="motion_features")
    for i in (2, 0, 1):
        audio_features.main(split, part=(i, 3))
        motion_features.main(split, part=(i, 3))
    for what in ("audio_features", "motion_features"):
        gather_parts.main(split, what=what)
    for one, parted, skipped in (
        (Paths(params).audio_features, Paths(split).audio_features, 1),
        (Paths(params).motion_features, Paths(split).motion_features, 2),
    ):
        files = sorted(f.name for f in one.iterdir())
        assert files == sorted(f.name for f in parted.iterdir()) and len(files) > 3
        assert all((one / f).read_bytes() == (parted / f).read_bytes() for f in files), one
        assert len({r["item"] for r in read_csv(one / "skipped.csv")}) == skipped
