"""The YouTube clip stage: yt-dlp fetches the real clip from a server on 127.0.0.1."""

import subprocess

import pytest
import soundfile as sf

from pipelines.errors import InputError
from pipelines.files import read_csv
from pipelines.ingest.youtube import ffmpeg_exe, parse_time, read_links
from pipelines.stages.youtube_clips import main

from ..helpers import make_params
from ..http_server import serve


def test_parse_time_and_bom(shared_data, tmp_path):
    assert parse_time("00:01:20") == 80 and parse_time("1:02") == 62 and parse_time("7.5") == 7.5
    rows = read_links(shared_data / "youtube" / "links.csv")
    assert rows[0]["url"].startswith("https://www.youtube.com/") and rows[0]["start_s"] == 40
    assert len(rows) > 10
    bad = tmp_path / "bad.csv"
    bad.write_text("http://x,00:00:10,00:00:05\n")
    with pytest.raises(InputError, match="line 1: end 00:00:05 is not after start"):
        read_links(bad)


def _frames(path):
    out = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    probe = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    return out, probe


def test_real_clip_through_yt_dlp(shared_data, tmp_path):
    clip = (shared_data / "youtube" / "clip_0_0" / "video.mp4").read_bytes()
    links = tmp_path / "links.csv"
    with serve({"/clip.mp4": clip}) as srv:
        links.write_text(
            "\ufeff" + f"{srv.url}clip.mp4,00:00:00,00:00:10\n{srv.url}gone.mp4,00:00:00,00:00:05\n", encoding="utf-8"
        )
        params = make_params(tmp_path, on_error="skip")  # the unavailable clip is listed, the run goes on
        params["youtube"].update(links=str(links), target=str(tmp_path / "clips"))
        main(params)
        manifest = read_csv(tmp_path / "clips" / "manifest.csv")
        assert [m["status"] for m in manifest] == ["ok", "ok", "failed"]
        assert "404" in manifest[2]["reason"] or "Not Found" in manifest[2]["reason"]
        (skipped,) = read_csv(tmp_path / "clips" / "skipped.csv")
        assert skipped["item"] == "clip_1" and skipped["reason"].startswith(f"line 2: {srv.url}gone.mp4: ")
        for k in (0, 1):
            d = tmp_path / "clips" / f"clip_0_{k}"
            y, sr = sf.read(d / "audio.wav")
            assert sr == 24000 and y.ndim == 1 and abs(len(y) - 5 * 24000) <= 240
            _, probe = _frames(d / "video.mp4")
            assert "24 fps" in probe and "Audio" not in probe
            import imageio_ffmpeg

            assert imageio_ffmpeg.count_frames_and_secs(str(d / "video.mp4"))[0] == 120
        n_requests = len(srv.requests)
        main(params)  # second run reuses the finished windows
        assert [m["status"] for m in read_csv(tmp_path / "clips" / "manifest.csv")][:2] == ["reused", "reused"]
        assert all(path != "/clip.mp4" for path, _ in srv.requests[n_requests:])
