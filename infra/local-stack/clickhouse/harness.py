"""The test harness: server.py as a subprocess on a free port, spoken to over plain HTTP."""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

SERVER = Path(__file__).with_name("server.py")
# The error parser of @clickhouse/client (packages/client-common/src/error/parse_error.ts).
CLIENT_ERROR_RE = re.compile(
    r"(Code|Error): (?P<code>\d+).*Exception: (?P<message>.+)\((?P<type>(?=.+[A-Z]{3})[A-Z0-9_]+?)\)", re.S
)


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def exception_code(self) -> int | None:
        code = self.headers.get("X-ClickHouse-Exception-Code")
        return int(code) if code else None


class Server:
    """server.py running in a subprocess on a free port."""

    def __init__(self, data_dir: Path, users_file: Path | None = None, max_concurrent: int | None = None) -> None:
        self.data_dir = data_dir
        self.users_file = users_file
        self.max_concurrent = max_concurrent
        self.ready_file = data_dir.parent / f"ready-{uuid.uuid4().hex}"
        self.process: subprocess.Popen[bytes] | None = None
        self.host = ""
        self.port = 0

    def start(self) -> Server:
        command = [sys.executable, str(SERVER), "--port", "0", "--data-dir", str(self.data_dir),
                   "--ready-file", str(self.ready_file)]
        if self.users_file is not None:
            command += ["--users-file", str(self.users_file)]
        if self.max_concurrent is not None:
            command += ["--max-concurrent", str(self.max_concurrent)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not self.ready_file.exists():
            assert self.process.poll() is None, "the server exited during startup"
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.05)
        url = urllib.parse.urlsplit(self.ready_file.read_text().strip())
        self.host, self.port = url.hostname or "", url.port or 0
        return self

    def stop(self, timeout: float = 30) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def request(
        self,
        sql: str | None = None,
        *,
        method: str = "POST",
        path: str = "/",
        params: dict[str, str] | None = None,
        body: bytes | Iterable[bytes] = b"",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        params = dict(params or {})
        if sql is not None:
            params["query"] = sql
        target = path + ("?" + urllib.parse.urlencode(params) if params else "")
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            chunked = not isinstance(body, bytes)
            connection.request(method, target, body=body, headers=headers or {}, encode_chunked=chunked)
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()

    def sql(self, statement: str, **params: str) -> str:
        """Run a statement sent as the body and return its output; fail on any error."""
        reply = self.request(params=params, body=statement.encode())
        assert reply.status == 200, reply.text
        return reply.text


def new_table(server: Server, columns: str = "id UInt32, name String", engine: str = "Memory") -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    server.sql(f"CREATE TABLE {name} ({columns}) ENGINE = {engine}")
    return name


def count(server: Server, table: str) -> int:
    return int(server.sql(f"SELECT count() FROM {table}"))


def assert_error(reply: Reply, status: int, code: int, name: str) -> None:
    assert reply.status == status, reply.text
    assert reply.exception_code == code
    match = CLIENT_ERROR_RE.search(reply.text)
    assert match is not None, reply.text
    assert (match["code"], match["type"]) == (str(code), name)
    assert "(version " in reply.text


T = TypeVar("T")


def run_together(*calls: Callable[[], T]) -> tuple[list[T], float]:
    """Start every call at once, each on a thread (so each request on a connection of
    its own); their results in order, and the seconds until the last one finished."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(calls)) as threads:
        results = [future.result() for future in [threads.submit(call) for call in calls]]
    return results, time.monotonic() - started
