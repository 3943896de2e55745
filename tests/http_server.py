"""A small HTTP server on 127.0.0.1 for download tests: Range requests, dropped
connections and corrupted bytes on demand."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackServer

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_HEAD(self) -> None:
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()

    def do_GET(self) -> None:
        srv = self.server
        body = srv.files.get(self.path)
        srv.requests.append((self.path, self.headers.get("Range")))
        if body is None:
            self.send_error(404)
            return
        if srv.mode == "corrupt":
            body = bytearray(body)
            for i in range(len(body) // 3, len(body) // 3 + 64):
                body[i] ^= 0xFF
            body = bytes(body)
        start = 0
        rng = self.headers.get("Range")
        if rng and srv.mode != "no_range":
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        self.send_header("Content-Length", str(len(chunk)))
        kind = {".mp4": "video/mp4", ".wav": "audio/wav", ".zip": "application/zip"}.get(self.path[-4:])
        if kind:
            self.send_header("Content-Type", kind)
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if srv.mode == "drop" and self.path not in srv.dropped:
            srv.dropped.add(self.path)  # first request for each file: half the bytes, then hang up
            self.wfile.write(chunk[: len(chunk) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(chunk)


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files: dict[str, bytes], mode: str = "ok"):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files, self.mode = files, mode
        self.requests: list[tuple[str, str | None]] = []
        self.dropped: set[str] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


@contextlib.contextmanager
def serve(files: dict[str, bytes], mode: str = "ok") -> Iterator[LoopbackServer]:
    """Serve ``files`` ({"/name": bytes}) on 127.0.0.1 until the block ends."""
    srv = LoopbackServer(files, mode)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)
