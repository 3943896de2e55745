"""The AIST++ download stage against servers on 127.0.0.1 serving archives built from the
real sample data in the official layout."""

import io
import json
import zipfile

import numpy as np
import pytest
import soundfile as sf

from pipelines.data import synthetic as syn
from pipelines.errors import InputError
from pipelines.ingest.download import DownloadError, fetch, safe_extract
from pipelines.stages.download_aistpp import download_aistpp

from ..helpers import base_params
from ..http_server import serve

SEQ_PIECES = ("mBR2", "mJS2", "mJS4")


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(entries.items()):
            zf.writestr(zipfile.ZipInfo(name, date_time=(2021, 3, 8, 0, 0, 0)), data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def official_files(aistpp_root):
    """{"/name": bytes}: motions.zip, keypoints3d.zip, cameras.zip, splits.zip and three wavs."""
    ann = aistpp_root / "annotations"
    files = {}
    for folder in ("motions", "keypoints3d", "cameras"):
        files[f"/{folder}.zip"] = _zip({f"{folder}/{p.name}": p.read_bytes() for p in sorted((ann / folder).iterdir())})
    files["/splits.zip"] = _zip(
        {
            **{f"splits/{p.name}": p.read_bytes() for p in (ann / "splits").iterdir()},
            "ignore_list.txt": (ann / "ignore_list.txt").read_bytes(),
        }
    )
    for piece in SEQ_PIECES:
        p = syn.make_piece(piece[1:3], int(piece[3]), np.random.default_rng(0))
        y, _ = syn.synth_music(p, seconds=3.0, sr=22050, rng=np.random.default_rng(1))
        buf = io.BytesIO()
        sf.write(buf, y, 22050, format="WAV")
        files[f"/audio/{piece}.wav"] = buf.getvalue()
    return files


def _cfg(url, target, **kw):
    cfg = dict(base_params()["download_aistpp"])
    cfg.update(
        base_url=url,
        music_url=url + "audio/{piece}.wav",
        music_pieces=list(SEQ_PIECES),
        target=str(target),
        retries=3,
        backoff_s=0.01,
        timeout_s=5,
        sha256={},
    )
    cfg.update(kw)
    return cfg


def _tree(target):
    return {
        str(p.relative_to(target)): p.read_bytes()
        for p in sorted(target.rglob("*"))
        if p.is_file() and "lock" not in p.name
    }


def test_download_extracts_the_official_layout_and_reuses(official_files, aistpp_root, tmp_path):
    with serve(official_files) as srv:
        done = download_aistpp(_cfg(srv.url, tmp_path / "t"))
        assert done == {"downloaded": 7, "reused": 0}
        import shutil

        for out in ("annotations", "music"):  # what Snakemake and DVC delete before a rerun
            shutil.rmtree(tmp_path / "t" / out)
        n = len(srv.requests)
        again = download_aistpp(_cfg(srv.url, tmp_path / "t"))
        assert again == {"downloaded": 0, "reused": 7} and len(srv.requests) == n
        assert (tmp_path / "t" / "music" / "mBR2.wav").exists()
    ann = tmp_path / "t" / "annotations"
    for p in (aistpp_root / "annotations" / "keypoints3d").iterdir():
        assert (ann / "keypoints3d" / p.name).read_bytes() == p.read_bytes()
    assert (ann / "splits" / "crossmodal_train.txt").exists() and (ann / "ignore_list.txt").exists()
    lock = json.loads((tmp_path / "t" / "download.lock.json").read_text())
    assert set(lock) == {
        "motions.zip",
        "keypoints3d.zip",
        "cameras.zip",
        "splits.zip",
        *(f"{p}.wav" for p in SEQ_PIECES),
    }
    assert all(len(e["sha256"]) == 64 for e in lock.values())


def test_dropped_connection_resumes_to_the_same_result(official_files, tmp_path):
    with serve(official_files) as good:
        download_aistpp(_cfg(good.url, tmp_path / "clean"))
    with serve(official_files, mode="drop") as flaky:
        download_aistpp(_cfg(flaky.url, tmp_path / "resumed"))
        ranges = [r for path, r in flaky.requests if path == "/motions.zip"]
    assert ranges[0] is None and ranges[1].startswith("bytes=") and int(ranges[1][6:-1]) > 0
    assert _tree(tmp_path / "clean") == _tree(tmp_path / "resumed")


def test_corrupted_bytes_are_refused_and_nothing_kept(official_files, tmp_path):
    with serve(official_files, mode="corrupt") as bad:
        with pytest.raises(DownloadError, match="corrupt archive"):
            download_aistpp(_cfg(bad.url, tmp_path / "t"))
    left = [p for p in (tmp_path / "t").rglob("*") if p.is_file()]
    assert left == []


def test_changed_bytes_against_the_lock_file_are_refused(official_files, tmp_path):
    with serve(official_files) as good:
        download_aistpp(_cfg(good.url, tmp_path / "t"))
    (tmp_path / "t" / "downloads" / "cameras.zip").unlink()  # lost; the server now serves other bytes
    changed = dict(official_files)
    changed["/cameras.zip"] = _zip({"cameras/other.json": b"{}"})
    with serve(changed) as other:
        with pytest.raises(DownloadError, match="does not match the expected"):
            download_aistpp(_cfg(other.url, tmp_path / "t"))
    assert not (tmp_path / "t" / "downloads" / "cameras.zip").exists()


def test_server_ignoring_range_restarts(official_files, tmp_path):
    dest = tmp_path / "motions.zip"
    (tmp_path / "motions.zip.part").write_bytes(b"junk from an older run")
    with serve(official_files, mode="no_range") as srv:
        fetch(srv.url + "motions.zip", dest, retries=1, backoff_s=0.01, progress=False)
    assert dest.read_bytes() == official_files["/motions.zip"]


def test_http_404_is_one_clear_error(tmp_path):
    with serve({}) as srv:
        with pytest.raises(DownloadError) as exc:
            fetch(srv.url + "nope.zip", tmp_path / "nope.zip", retries=2, backoff_s=0.01, progress=False)
    assert "HTTP 404" in str(exc.value) and "nope.zip" in str(exc.value)


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt"])
def test_extraction_refuses_escaping_members(tmp_path, member):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(_zip({"fine.txt": b"ok", member: b"pwned"}))
    target = tmp_path / "out"
    with pytest.raises(InputError, match="outside"):
        safe_extract(archive, target)
    assert not (tmp_path / "evil.txt").exists() and not any(target.rglob("*.txt"))


def test_pipeline_indexes_the_downloaded_tree(official_files, tmp_path):
    from pipelines.config import Paths
    from pipelines.files import read_csv
    from pipelines.stages import acquire

    from ..helpers import make_params

    params = make_params(tmp_path, dataset="aistpp", on_error="skip")
    params["datasets"]["aistpp"]["source"] = "download"
    with serve(official_files) as srv:
        params["download_aistpp"] = _cfg(srv.url, tmp_path / "download")
        download_aistpp(params["download_aistpp"])
    acquire.main(params)
    rows = read_csv(Paths(params).index / "sequences.csv")
    assert len(rows) == 4 and all(r["audio_path"].startswith(str(tmp_path / "download" / "music")) for r in rows)


def test_download_benchmark_measures_a_loopback_transfer():
    from pipelines.bench.ingest import bench_download

    r = bench_download(2)
    assert r["megabytes"] == 2 and r["mb_per_second"] > 0
