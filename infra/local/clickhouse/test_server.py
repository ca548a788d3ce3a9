"""Tests for server.py: the real server as a subprocess, real chDB, plain HTTP."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from server import analyze_statement

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

    def __init__(self, data_dir: Path, users_file: Path | None = None) -> None:
        self.data_dir = data_dir
        self.users_file = users_file
        self.ready_file = data_dir.parent / f"ready-{uuid.uuid4().hex}"
        self.process: subprocess.Popen[bytes] | None = None
        self.host = ""
        self.port = 0

    def start(self) -> Server:
        command = [sys.executable, str(SERVER), "--port", "0", "--data-dir", str(self.data_dir),
                   "--ready-file", str(self.ready_file)]
        if self.users_file is not None:
            command += ["--users-file", str(self.users_file)]
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("shared") / "data").start()
    yield running
    assert running.stop() == 0


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


# ---------------------------------------------------------------- basics


def test_ping_and_root(server: Server) -> None:
    for path in ("/ping", "/"):
        reply = server.request(method="GET", path=path)
        assert (reply.status, reply.text) == (200, "Ok.\n")


def test_unknown_path_is_404(server: Server) -> None:
    assert server.request(method="GET", path="/nope").status == 404


def test_query_params_are_bound_never_interpolated(server: Server) -> None:
    hostile = "O'Reilly \\ \"q\" ünïcødé 🚀'); DROP TABLE nothing; --"
    # The HTTP interface takes values in ClickHouse's escaped form: backslashes doubled.
    reply = server.request(
        "SELECT {s:String} AS s, {n:UInt32} + 1 AS n FORMAT JSONEachRow",
        params={"param_s": hostile.replace("\\", "\\\\"), "param_n": "41"},
    )
    assert reply.status == 200, reply.text
    assert json.loads(reply.body) == {"s": hostile, "n": 42}


def test_default_format_and_format_clause(server: Server) -> None:
    plain = server.request("SELECT 1 AS a, 'x' AS b")
    assert plain.text == "1\tx\n"
    assert plain.headers["X-ClickHouse-Format"] == "TabSeparated"
    assert plain.headers["Content-Type"].startswith("text/tab-separated-values")

    as_json = server.request("SELECT 1 AS a", params={"default_format": "JSONEachRow"})
    assert json.loads(as_json.body) == {"a": 1}
    assert as_json.headers["X-ClickHouse-Format"] == "JSONEachRow"
    assert as_json.headers["Content-Type"].startswith("application/json")

    clause_wins = server.request("SELECT 1 AS a FORMAT CSVWithNames", params={"default_format": "JSON"})
    assert clause_wins.text == '"a"\n1\n'
    assert clause_wins.headers["X-ClickHouse-Format"] == "CSVWithNames"


def test_response_headers(server: Server) -> None:
    reply = server.request("SELECT number FROM numbers(3)", params={"query_id": "my-query-1"})
    assert reply.headers["X-ClickHouse-Query-Id"] == "my-query-1"
    assert reply.headers["X-ClickHouse-Timezone"]
    assert reply.headers["X-ClickHouse-Server-Display-Name"]
    summary = json.loads(reply.headers["X-ClickHouse-Summary"])
    assert all(isinstance(value, str) for value in summary.values())
    assert summary["read_rows"] == "3" and summary["result_bytes"] == str(len(reply.body))
    generated = server.request("SELECT 1").headers["X-ClickHouse-Query-Id"]
    assert uuid.UUID(generated)


def test_database_param_applies_to_one_request(server: Server) -> None:
    server.sql("CREATE DATABASE IF NOT EXISTS other_db")
    server.sql("CREATE TABLE IF NOT EXISTS other_db.only_here (x UInt8) ENGINE = Memory")
    assert server.sql("SELECT count() FROM only_here", database="other_db") == "0\n"
    assert server.sql("SELECT currentDatabase()") == "default\n"
    reply = server.request("SELECT 1", params={"database": "no_such_db"})
    assert_error(reply, 404, 81, "UNKNOWN_DATABASE")


# ---------------------------------------------------------------- inserts


def test_insert_json_each_row_with_query_param(server: Server) -> None:
    table = new_table(server)
    rows = b'{"id":1,"name":"a"}\n{"id":2,"name":"b;\'c"}\n'
    reply = server.request(f"INSERT INTO {table} FORMAT JSONEachRow", body=rows)
    assert reply.status == 200, reply.text
    assert json.loads(reply.headers["X-ClickHouse-Summary"])["written_rows"] == "2"
    output = server.sql(f"SELECT name FROM {table} ORDER BY id FORMAT JSONEachRow")
    assert [json.loads(line)["name"] for line in output.splitlines()] == ["a", "b;'c"]


def test_insert_json_compact_each_row(server: Server) -> None:
    table = new_table(server)
    reply = server.request(f"INSERT INTO {table} FORMAT JSONCompactEachRow", body=b'[1,"a"]\n[2,"b"]\n')
    assert reply.status == 200, reply.text
    assert count(server, table) == 2


def test_insert_with_statement_and_rows_in_body(server: Server) -> None:
    table = new_table(server)
    server.sql(f'INSERT INTO {table} FORMAT JSONEachRow\n{{"id":1,"name":"a"}}\n')
    server.sql(f"INSERT INTO {table} VALUES (2, 'b'), (3, 'c; d')")
    assert count(server, table) == 3


def test_insert_with_chunked_body(server: Server) -> None:
    table = new_table(server)
    chunks = (f'{{"id":{i},"name":"n{i}"}}\n'.encode() for i in range(1000))
    reply = server.request(f"INSERT INTO {table} FORMAT JSONEachRow", body=chunks)
    assert reply.status == 200, reply.text
    assert count(server, table) == 1000


def test_insert_with_gzip_body(server: Server) -> None:
    table = new_table(server)
    rows = b"".join(f'{{"id":{i},"name":"n{i}"}}\n'.encode() for i in range(500))
    reply = server.request(
        f"INSERT INTO {table} FORMAT JSONEachRow", body=gzip.compress(rows), headers={"Content-Encoding": "gzip"}
    )
    assert reply.status == 200, reply.text
    assert count(server, table) == 500


def test_insert_binary_format(server: Server) -> None:
    table = new_table(server, "id UInt32, blob String")
    row = struct.pack("<I", 7) + bytes([3, 0xFF, 0x00, 0xFE])  # not valid UTF-8
    reply = server.request(f"INSERT INTO {table} FORMAT RowBinary", body=row)
    assert reply.status == 200, reply.text
    assert server.sql(f"SELECT id, hex(blob) FROM {table}") == "7\tFF00FE\n"


def test_insert_with_query_parameters(server: Server) -> None:
    table = new_table(server)
    reply = server.request(
        "INSERT INTO {table:Identifier} FORMAT JSONEachRow", params={"param_table": table}, body=b'{"id":1}\n'
    )
    assert reply.status == 200, reply.text
    assert count(server, table) == 1


def test_large_insert(server: Server) -> None:
    table = new_table(server)
    padding = "x" * 220
    rows = "".join(f'{{"id":{i},"name":"{padding}{i}"}}\n' for i in range(200_000)).encode()
    assert len(rows) > 45_000_000
    reply = server.request(f"INSERT INTO {table} FORMAT JSONEachRow", body=rows)
    assert reply.status == 200, reply.text
    assert count(server, table) == 200_000


def test_malformed_insert_data_is_reported(server: Server) -> None:
    table = new_table(server)
    reply = server.request(f"INSERT INTO {table} FORMAT JSONEachRow", body=b'{"id":"not a number"}\n')
    assert_error(reply, 400, 27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED")
    assert count(server, table) == 0


def test_insert_deduplication_token(server: Server) -> None:
    table = new_table(
        server, engine="MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100"
    )

    def insert(token: str, first_id: int) -> None:
        rows = f'{{"id":{first_id},"name":"a"}}\n{{"id":{first_id + 1},"name":"b"}}\n'.encode()
        reply = server.request(
            f"INSERT INTO {table} FORMAT JSONEachRow", params={"insert_deduplication_token": token}, body=rows
        )
        assert reply.status == 200, reply.text

    insert("batch-1", 1)
    insert("batch-1", 3)  # same token: a retry, so no rows
    assert count(server, table) == 2
    insert("batch-2", 3)
    assert count(server, table) == 4


# ---------------------------------------------------------------- settings


def test_request_settings_do_not_leak(server: Server) -> None:
    limited = server.request("SELECT number FROM numbers(5)", params={"max_result_rows": "2"})
    assert_error(limited, 500, 396, "TOO_MANY_ROWS_OR_BYTES")
    assert server.sql("SELECT number FROM numbers(5)").count("\n") == 5
    assert server.sql("SELECT getSetting('max_result_rows')") == "0\n"


def test_set_and_use_statements_do_not_leak(server: Server) -> None:
    server.sql("SET max_result_rows = 2, log_comment = 'x'")
    server.sql("USE system")
    assert server.sql("SELECT getSetting('max_result_rows'), currentDatabase()") == "0\tdefault\n"
    server.sql("SET readonly = 1")  # must not lock the shared session
    new_table(server)


def test_settings_the_node_client_sends_are_accepted(server: Server) -> None:
    params = {
        "enable_http_compression": "0", "send_progress_in_http_headers": "1",
        "http_headers_progress_interval_ms": "20000", "wait_end_of_query": "1", "async_insert": "0",
        "wait_for_async_insert": "1", "date_time_input_format": "best_effort",
        "output_format_json_quote_64bit_integers": "0", "session_id": "s1", "session_timeout": "60",
        "max_execution_time": "30",
    }
    reply = server.request("SELECT toUInt64(1) AS n FORMAT JSONEachRow", params=params)
    assert reply.status == 200, reply.text
    assert json.loads(reply.body) == {"n": 1}


def test_unknown_setting(server: Server) -> None:
    reply = server.request("SELECT 1", params={"no_such_setting": "1"})
    # ClickHouse's exceptionCodeToHTTPStatus answers UNKNOWN_SETTING with 404.
    assert_error(reply, 404, 115, "UNKNOWN_SETTING")
    assert_error(server.request("SELECT 1", params={"bad-name": "1"}), 404, 115, "UNKNOWN_SETTING")


def test_max_execution_time(server: Server) -> None:
    reply = server.request("SELECT sleep(2)", params={"max_execution_time": "1"})
    assert_error(reply, 408, 159, "TIMEOUT_EXCEEDED")


# ---------------------------------------------------------------- errors


def test_syntax_error(server: Server) -> None:
    assert_error(server.request("SELEC 1"), 400, 62, "SYNTAX_ERROR")


def test_unknown_table(server: Server) -> None:
    assert_error(server.request("SELECT * FROM no_such_table"), 404, 60, "UNKNOWN_TABLE")


def test_empty_and_multiple_statements(server: Server) -> None:
    for empty in ("", "  -- nothing\n /* at all */ ;"):
        reply = server.request(body=empty.encode())
        assert_error(reply, 400, 62, "SYNTAX_ERROR")
        assert "Empty query" in reply.text
    reply = server.request("SELECT 1; SELECT 2")
    assert_error(reply, 400, 62, "SYNTAX_ERROR")
    assert "Multi-statements are not allowed" in reply.text
    assert server.sql("SELECT ';' AS `a;b` /* ; */ ; -- ;") == ";\n"


def test_into_outfile_is_refused(server: Server) -> None:
    reply = server.request("SELECT 1 INTO OUTFILE 'x.txt'")
    assert_error(reply, 500, 358, "INTO_OUTFILE_NOT_ALLOWED")


# ---------------------------------------------------------------- readonly


def test_readonly_param_allows_only_reads(server: Server) -> None:
    table = new_table(server)
    for statement in (f"INSERT INTO {table} VALUES (1, 'a')", "CREATE TABLE ro_t (x UInt8) ENGINE = Memory",
                      f"DROP TABLE {table}", "(( /* c */ -- x\n INSERT INTO t VALUES (1)))"):
        reply = server.request(statement, params={"readonly": "1"})
        assert_error(reply, 500, 164, "READONLY")
        assert "default: Cannot execute query in readonly mode" in reply.text
    for statement in ("SELECT 1", "WITH 1 AS x SELECT x", f"DESCRIBE {table}", "SHOW TABLES",
                      f"EXISTS {table}", "EXPLAIN SELECT 1", "(SELECT 1)"):
        assert server.request(statement, params={"readonly": "1"}).status == 200, statement
    assert count(server, table) == 0


def test_get_cannot_write(server: Server) -> None:
    reply = server.request("CREATE TABLE from_get (x UInt8) ENGINE = Memory", method="GET")
    assert_error(reply, 500, 164, "READONLY")
    assert "method GET implies readonly" in reply.text
    assert server.request("SELECT 42", method="GET").text == "42\n"


# ---------------------------------------------------------------- users


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("secured")
    users = root / "users.json"
    users.write_text(json.dumps({
        "default": {"password": "", "readonly": 0},
        "writer": {"password": "w-pass", "readonly": 0},
        "grafana": {"password": "secret", "readonly": 1},
    }))
    running = Server(root / "data", users_file=users).start()
    yield running
    assert running.stop() == 0


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_authentication_methods(secured: Server) -> None:
    query = "SELECT currentUser() != ''"
    assert secured.request(query, headers=basic("writer", "w-pass")).status == 200
    assert secured.request(query, headers={"X-ClickHouse-User": "writer", "X-ClickHouse-Key": "w-pass"}).status == 200
    assert secured.request(query, params={"user": "writer", "password": "w-pass"}).status == 200
    assert secured.request(query).status == 200  # default, no password


def test_authentication_failures(secured: Server) -> None:
    for headers in (basic("writer", "wrong"), basic("nobody", ""), {"X-ClickHouse-User": "grafana"}):
        reply = secured.request("SELECT 1", headers=headers)
        assert_error(reply, 403, 516, "AUTHENTICATION_FAILED")
    mixed = secured.request("SELECT 1", params={"user": "writer"}, headers=basic("writer", "w-pass"))
    assert_error(mixed, 403, 516, "AUTHENTICATION_FAILED")


def test_readonly_user(secured: Server) -> None:
    grafana = basic("grafana", "secret")
    table = f"t_{uuid.uuid4().hex[:8]}"
    secured.request(f"CREATE TABLE {table} (x UInt8) ENGINE = Memory", headers=basic("writer", "w-pass"))
    assert secured.request(f"SELECT count() FROM {table}", headers=grafana).text == "0\n"
    for statement in (f"INSERT INTO {table} VALUES (1)", f"DROP TABLE {table}", "SET max_threads = 1"):
        assert_error(secured.request(statement, headers=grafana), 500, 164, "READONLY")
    changes_setting = secured.request("SELECT 1", params={"max_result_rows": "5"}, headers=grafana)
    assert_error(changes_setting, 500, 164, "READONLY")
    assert "Cannot modify 'max_result_rows' setting in readonly mode" in changes_setting.text
    lowers_readonly = secured.request("SELECT 1", params={"readonly": "0"}, headers=grafana)
    assert_error(lowers_readonly, 500, 164, "READONLY")
    client_defaults = {"enable_http_compression": "1", "output_format_json_quote_64bit_integers": "0",
                       "date_time_input_format": "best_effort", "readonly": "1"}
    assert secured.request("SELECT 1", params=client_defaults, headers=grafana).status == 200


# ---------------------------------------------------------------- compression


def test_gzip_response(server: Server) -> None:
    sql = "SELECT number FROM numbers(1000)"
    expected = "".join(f"{n}\n" for n in range(1000)).encode()
    compressed = server.request(sql, params={"enable_http_compression": "1"}, headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.body) == expected
    plain = server.request(sql, headers={"Accept-Encoding": "gzip"})
    assert plain.headers.get("Content-Encoding") is None and plain.body == expected


# ---------------------------------------------------------------- concurrency


def test_concurrent_clients(server: Server) -> None:
    table = new_table(server)
    errors: list[str] = []

    def client(worker: int) -> None:
        for batch in range(10):
            rows = "".join(f'{{"id":{worker * 10_000 + batch * 100 + i},"name":"w{worker}"}}\n' for i in range(100))
            reply = server.request(f"INSERT INTO {table} FORMAT JSONEachRow", body=rows.encode())
            if reply.status != 200:
                errors.append(reply.text)
            own = server.request(f"SELECT count() FROM {table} WHERE name = 'w{worker}'")
            if own.text != f"{(batch + 1) * 100}\n":
                errors.append(f"worker {worker} saw {own.text!r} after batch {batch}")

    threads = [threading.Thread(target=client, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(server, table) == 8 * 10 * 100


def test_ping_answers_during_a_long_query(server: Server) -> None:
    replies: list[Reply] = []
    long_query = threading.Thread(target=lambda: replies.append(server.request("SELECT sleep(2)")))
    long_query.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert server.request(method="GET", path="/ping").text == "Ok.\n"
    assert time.monotonic() - started < 0.5
    assert long_query.is_alive()
    long_query.join()
    assert replies[0].status == 200


# ---------------------------------------------------------------- process lifecycle


def test_data_survives_restart(tmp_path: Path) -> None:
    first = Server(tmp_path / "data").start()
    first.sql("CREATE TABLE kept (x UInt32) ENGINE = MergeTree ORDER BY x")
    first.sql("INSERT INTO kept SELECT number FROM numbers(100)")
    assert first.stop() == 0
    second = Server(tmp_path / "data").start()
    assert second.sql("SELECT count(), sum(x) FROM kept") == "100\t4950\n"
    assert second.stop() == 0


def test_sigterm_finishes_the_running_query_and_exits_0(tmp_path: Path) -> None:
    running = Server(tmp_path / "data").start()
    replies: list[Reply] = []
    query = threading.Thread(target=lambda: replies.append(running.request("SELECT sleep(1)")))
    query.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert running.stop(timeout=10) == 0
    assert time.monotonic() - started < 5
    query.join()
    assert replies[0].status == 200
    assert not running.ready_file.exists()


# ---------------------------------------------------------------- statement analysis


@pytest.mark.parametrize(
    ("sql", "keyword", "output_format"),
    [
        ("select 1", "SELECT", None),
        ("  -- c\n# d\n/* a /* nested */ b */ ((Select 1)) FORMAT JSON", "SELECT", "JSON"),
        ("SELECT format FROM t", "SELECT", None),
        ("SELECT 1 FORMAT CSV SETTINGS max_threads = 1", "SELECT", "CSV"),
        ("SELECT 'FORMAT x' AS `FORMAT`", "SELECT", None),
        ("SELECT $$ ; $$", "SELECT", None),
        ("insert into t format JSONEachRow", "INSERT", None),
    ],
)
def test_statement_classification(sql: str, keyword: str, output_format: str | None) -> None:
    statement = analyze_statement(sql)
    assert (statement.keyword, statement.output_format) == (keyword, output_format)
    assert statement.second_statement_at is None and not statement.is_empty


def test_inline_insert_data_split() -> None:
    sql = "INSERT INTO t (a) SETTINGS x = 'FORMAT;' FORMAT CSV  \n1,;2\n"
    data = analyze_statement(sql).inline_data
    assert data is not None
    assert (sql[: data.head_end], sql[data.data_start:], data.input_format) == (
        "INSERT INTO t (a) SETTINGS x = 'FORMAT;' ", "1,;2\n", "CSV"
    )
    values = analyze_statement("INSERT INTO t VALUES (1, ';')").inline_data
    assert values is not None and values.input_format == "Values"
    assert analyze_statement("INSERT INTO t SELECT * FROM values('a UInt8', 1)").inline_data is None
    assert analyze_statement("SET a = 1, `b` = (1, 2), c = 'd'").set_names == ("a", "b", "c")
