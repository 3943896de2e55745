"""Per-clip stages split into jobs (``cluster.clip_jobs``): the parts cover every clip once, and the
gathered summary is the file one job over all clips writes, byte for byte."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from pipelines.config import REPO_ROOT, load_params
from pipelines.dag import stages
from pipelines.errors import InputError
from pipelines.ingest.clips import clip_part, summary_file
from pipelines.stages import gather_clips, stems


def test_parts_cover_every_clip_once_and_keep_their_clips_when_clips_are_added():
    clips = [f"clip_{i}" for i in range(10)]
    parts = [clip_part(clips, (i, 3)) for i in range(3)]
    assert sorted(c for p in parts for c in p) == clips and [len(p) for p in parts] == [4, 3, 3]
    assert clip_part(clips, None) == clips
    more = clips + ["clip_9x"]
    assert all(set(clip_part(clips, (i, 3))) <= set(clip_part(more, (i, 3))) for i in range(3))


def test_the_dag_fans_the_per_clip_stages_out_into_parts_and_a_gather():
    params = load_params(REPO_ROOT / "params.yaml")
    params["dataset"] = "youtube"
    single = stages(params)
    params["cluster"]["clip_jobs"] = 4
    st = stages(params)
    for name in ("pose", "stems", "encodec"):
        parts = [st[f"{name}_part{i}"] for i in range(4)]
        assert [p.args for p in parts] == [f"--part {i}/4" for i in range(4)]
        assert all(p.module_name == f"pipelines.stages.{name}" and p.gpu == single[name].gpu for p in parts)
        assert st[name].outs == single[name].outs and st[name].module_name == "pipelines.stages.gather_clips"
        assert sorted(st[name].inputs) == sorted(p.outs[0] for p in parts)
    assert st["encodec_part0"].inputs == single["encodec"].inputs  # the gathered stems summary
    # a 1000-clip list at clip_jobs 1000: that many jobs per per-clip stage
    params["cluster"]["clip_jobs"] = 1000
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
    params["cluster"]["clip_jobs"] = 2
    with pytest.raises(InputError, match=r"part 0 of 2 has not run"):
        gather_clips.main(params, summary="stems_summary")
    stems.main(params, part=(1, 2))
    stems.main(params, part=(0, 2))
    assert [
        len(json.loads(summary_file(tmp_path / "split", "stems_summary", (i, 2)).read_text())) for i in range(2)
    ] == [3, 2]
    gather_clips.main(params, summary="stems_summary")
    one = (tmp_path / "one" / "stems_summary.json").read_bytes()
    assert (tmp_path / "split" / "stems_summary.json").read_bytes() == one
