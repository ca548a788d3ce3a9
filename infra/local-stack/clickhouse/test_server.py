"""Tests for server.py: the real server as a subprocess, real chDB, plain HTTP."""

from __future__ import annotations

import gzip
import json
import struct
import threading
import time
import uuid
from pathlib import Path

import pytest

from harness import Reply, Server, assert_error, count, new_table
from server import analyze_statement

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


def test_insert_binary_rows_that_start_with_newline_bytes(server: Server) -> None:
    # 2570 is 0x0A0A: in RowBinary the data starts with two newline bytes.
    table = new_table(server, "id UInt32, blob String")
    ids = [2570, 0x0A0A0A0A, 10]
    rows = b"".join(struct.pack("<I", i) + b"\x01\n" for i in ids)
    reply = server.request(f"INSERT INTO {table} FORMAT RowBinary", body=rows)
    assert reply.status == 200, reply.text
    assert server.sql(f"SELECT id, hex(blob) FROM {table} ORDER BY id") == "".join(f"{i}\t0A\n" for i in sorted(ids))


def test_insert_json_after_blank_lines(server: Server) -> None:
    table = new_table(server)
    reply = server.request(f"INSERT INTO {table} FORMAT JSONEachRow", body=b'\n\n\n{"id":1,"name":"a"}\n\n')
    assert reply.status == 200, reply.text
    assert server.sql(f"SELECT id, name FROM {table}") == "1\ta\n"


def test_insert_with_settings_clause(server: Server) -> None:
    table = new_table(server, engine="MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 10")
    for first_id in (1, 3):  # the same token twice: the second insert is a retry
        reply = server.request(
            f"INSERT INTO {table} (id) SETTINGS insert_deduplication_token = 'st-1', async_insert = 1 FORMAT CSV",
            body=f"{first_id}\n{first_id + 1}\n".encode(),
        )
        assert reply.status == 200, reply.text
    assert server.sql(f"SELECT id, name FROM {table} ORDER BY id") == "1\t\n2\t\n"


def test_insert_with_query_parameters(server: Server) -> None:
    table = new_table(server)
    reply = server.request(
        "INSERT INTO {table:Identifier} FORMAT JSONEachRow", params={"param_table": table}, body=b'{"id":1}\n'
    )
    assert reply.status == 200, reply.text
    values = server.request(
        "INSERT INTO {table:Identifier} VALUES (2, 'b')", params={"param_table": table, "param_unused": "x"}
    )
    assert values.status == 200, values.text
    empty = server.request("INSERT INTO {table:Identifier} FORMAT JSONEachRow", params={"param_table": table})
    assert empty.status == 200, empty.text
    assert server.sql(f"SELECT id, name FROM {table} ORDER BY id") == "1\t\n2\tb\n"


def test_large_insert(server: Server) -> None:
    table = new_table(server)
    padding = "x" * 220
    rows = "".join(f'{{"id":{i},"name":"{padding}{i}"}}\n' for i in range(200_000)).encode()
    assert len(rows) > 45_000_000
    reply = server.request(f"INSERT INTO {table} FORMAT JSONEachRow", body=rows)
    assert reply.status == 200, reply.text
    assert count(server, table) == 200_000


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


# ---------------------------------------------------------------- compression


def test_gzip_response(server: Server) -> None:
    sql = "SELECT number FROM numbers(1000)"
    expected = "".join(f"{n}\n" for n in range(1000)).encode()
    compressed = server.request(sql, params={"enable_http_compression": "1"}, headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.body) == expected
    plain = server.request(sql, headers={"Accept-Encoding": "gzip"})
    assert plain.headers.get("Content-Encoding") is None and plain.body == expected


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
    assert (data.format_clause, sql[data.settings_at or 0 : data.head_end]) == ("FORMAT CSV", "SETTINGS x = 'FORMAT;' ")
    values = analyze_statement("INSERT INTO t VALUES (1, ';')").inline_data
    assert values is not None and (values.input_format, values.format_clause, values.settings_at) == (
        "Values", "FORMAT Values", None
    )
    assert analyze_statement("INSERT INTO t VALUES (1, ';'); SELECT 2").second_statement_at == 29
    assert analyze_statement("INSERT INTO t SELECT * FROM values('a UInt8', 1)").inline_data is None
    assert analyze_statement("SET a = 1, `b` = (1, 2), c = 'd'").set_names == ("a", "b", "c")
