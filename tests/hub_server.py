"""A loopback stand-in for the Hugging Face Hub's file endpoint, for tests/test_models.py and bench/models_pull.py.

It answers what huggingface_hub's download path asks (HEAD, then GET with or without a Range) on
`/{owner}/{name}/resolve/{revision}/{file}`, with the headers the Hub sends for a Git LFS file:
X-Repo-Commit, ETag and X-Linked-Etag (the sha256), X-Linked-Size, Accept-Ranges; 206 and
Content-Range for a range; 404 with X-Error-Code for an unknown repository or file. With
`cdn=True` the Hub's own shape: the resolve URL answers 302 to a CDN on another origin (here
`localhost` instead of `127.0.0.1`), which serves the bytes.

Anything else (huggingface_hub also asks `/api/agent-harnesses`, best effort, for its user
agent) gets a 404. Faults on demand: `fail_next_get(after=N)` cuts the next download after N bytes and then answers
503 until `down` is cleared; `rate` slows the bytes down (to interrupt a pull midway);
`add(..., sha256=...)` advertises a hash the bytes do not have.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"
RESOLVE = re.compile(r"(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<file>.+)")


@dataclass(frozen=True)
class Served:
    path: Path
    sha256: str
    size: int


@dataclass
class Request:
    method: str
    path: str
    range: str | None
    status: int = 0
    body_bytes: int = 0


@dataclass
class Hub:
    """What the server holds and what it saw; tests read `requests` and set the faults."""

    files: dict[str, Served] = field(default_factory=dict)  # "owner/name/file" -> bytes and advertised hash
    requests: list[Request] = field(default_factory=list)
    cdn: bool = False
    down: bool = False
    cut_after: int | None = None
    rate: float | None = None  # bytes per second, to stop a download midway
    url: str = ""

    def add(self, repo: str, file: str, path: Path, sha256: str | None = None) -> Served:
        """Serve `path` as FILE of REPO, advertising `sha256` (the file's own unless given)."""
        if sha256 is None:
            with path.open("rb") as f:
                sha256 = hashlib.file_digest(f, "sha256").hexdigest()
        served = self.files[f"{repo}/{file}"] = Served(path, sha256, path.stat().st_size)
        return served

    def fail_next_get(self, after: int) -> None:
        """The next GET sends `after` bytes of its body and closes the connection; then everything gets 503."""
        self.cut_after = after

    def gets(self) -> list[Request]:
        """The GETs of file bytes (huggingface_hub also asks /api/agent-harnesses, for its user agent)."""
        return [r for r in self.requests if r.method == "GET" and ("/resolve/" in r.path or "/cdn/" in r.path)]


def _handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            record = Request(self.command, self.path, self.headers.get("Range"))
            with lock:
                hub.requests.append(record)
            path = unquote(self.path.split("?")[0]).lstrip("/")
            if hub.down:
                return self._status(record, 503, {})
            if path.startswith("cdn/"):
                served = next((s for s in hub.files.values() if s.sha256 == path.removeprefix("cdn/")), None)
                if served is None:
                    return self._status(record, 404, {})
                return self._send(record, served, body, {})
            found = RESOLVE.fullmatch(path)
            if found is None or not any(key.startswith(f"{found['repo']}/") for key in hub.files):
                return self._status(record, 404, {"X-Error-Code": "RepoNotFound"})
            served = hub.files.get(f"{found['repo']}/{found['file']}")
            if served is None:
                return self._status(record, 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT})
            meta = {"X-Repo-Commit": COMMIT, "X-Linked-Etag": f'"{served.sha256}"', "ETag": f'"{served.sha256}"',
                    "X-Linked-Size": str(served.size)}
            if hub.cdn:
                host, port = self.server.server_address[:2]
                cdn = f"http://{'localhost' if host == '127.0.0.1' else host}:{port}/cdn/{served.sha256}"
                return self._status(record, 302, {**meta, "Location": cdn})
            return self._send(record, served, body, meta)

        def _status(self, record: Request, status: int, headers: dict[str, str]) -> None:
            record.status = status
            self.send_response(status)
            for key, value in {"Content-Length": "0", **headers}.items():
                self.send_header(key, value)
            self.end_headers()

        def _send(self, record: Request, served: Served, body: bool, headers: dict[str, str]) -> None:
            start, end = 0, served.size - 1
            status = 200
            if record.range and record.range.startswith("bytes="):
                first, _, last = record.range.removeprefix("bytes=").partition("-")
                start, end = int(first or 0), min(int(last) if last else served.size - 1, served.size - 1)
                status = 206
                headers = {**headers, "Content-Range": f"bytes {start}-{end}/{served.size}"}
            record.status = status
            self.send_response(status)
            headers = {**headers, "Content-Length": str(end - start + 1), "Accept-Ranges": "bytes",
                       "Content-Type": "application/octet-stream"}
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            if not body:
                return
            count = end - start + 1
            with lock:
                cut, hub.cut_after = hub.cut_after, None
            if cut is not None:
                count = min(count, cut)
            with served.path.open("rb") as f:
                try:
                    record.body_bytes = self._copy(f, start, count)
                except (BrokenPipeError, ConnectionResetError):  # the client went away
                    self.close_connection = True
                    return
            if cut is not None:  # the connection drops mid-file, and the server stays down
                hub.down = True
                self.close_connection = True

        def _copy(self, f: BinaryIO, start: int, count: int) -> int:
            if hub.rate is None:
                return self.connection.sendfile(f, offset=start, count=count)
            sent, piece = 0, 2**18
            while sent < count:
                sent += self.connection.sendfile(f, offset=start + sent, count=min(piece, count - sent))
                time.sleep(piece / hub.rate)
            return sent

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def hub_server(*, cdn: bool = False) -> Iterator[Hub]:
    """A Hub on a free loopback port for the duration of the block; `HF_ENDPOINT` is its `url`."""
    hub = Hub(cdn=cdn)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    server.daemon_threads = True
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
