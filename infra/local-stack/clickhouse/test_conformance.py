"""Error conformance: each failure answers the HTTP status, X-ClickHouse-Exception-Code and
`Code: N. DB::Exception: … (NAME) (version …)` text that clickhouse-server gives for it.

The expected statuses are transcribed here from ClickHouse's own table,
src/Server/HTTP/exceptionCodeToHTTPStatus.cpp in ClickHouse/ClickHouse (read at commit
08f89d9b15f5169384647044247bc230c694b37a; HTTPHandler.cpp calls it). Every code that
table does not list answers 500. The codes are the engine's own: chDB is ClickHouse's engine.
"""

from __future__ import annotations

import base64
import json
import struct
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from harness import Reply, Server, assert_error, count, new_table
from server import HTTP_STATUS_BY_CODE

# exceptionCodeToHTTPStatus, by error name; the test maps the names to codes with the engine.
CLICKHOUSE_STATUS_BY_NAME = {
    401: ["REQUIRED_PASSWORD"],
    403: ["UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"],
    400: [
        "BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE",
        "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE", "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER",
        "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6",
        "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN",
        "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST",
        "TOO_BIG_AST", "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
        "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
    ],
    404: [
        "UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
        "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION",
        "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE",
    ],
    413: ["QUERY_IS_TOO_LARGE"],
    501: ["NOT_IMPLEMENTED"],
    503: ["SOCKET_TIMEOUT", "CANNOT_OPEN_FILE", "CANNOT_SCHEDULE_TASK"],
    411: ["HTTP_LENGTH_REQUIRED"],
    408: ["TIMEOUT_EXCEEDED"],
    415: ["UNSUPPORTED_MEDIA_TYPE"],
}


def test_status_table_is_clickhouses(server: Server) -> None:
    codes = ",".join(str(code) for code in sorted(HTTP_STATUS_BY_CODE))
    names = server.sql(f"SELECT arrayJoin([{codes}]) AS code, errorCodeToName(code) FORMAT TSV")
    served = {}
    for line in names.splitlines():
        code, name = line.split("\t")
        served.setdefault(HTTP_STATUS_BY_CODE[int(code)], set()).add(name)
    assert served == {status: set(names) for status, names in CLICKHOUSE_STATUS_BY_NAME.items()}


# ---------------------------------------------------------------- writes that fail


def months_from_2000(months: int) -> Iterator[tuple[str, int]]:
    """One timestamp on the 1st of each month from January 2000, with a row number."""
    for i in range(months):
        yield f"{2000 + i // 12:04d}-{i % 12 + 1:02d}-01 00:00:00.000", i


def new_monthly_table(server: Server) -> str:
    return new_table(
        server, "d DateTime64(3, 'UTC'), x UInt32", "MergeTree PARTITION BY toYYYYMM(d) ORDER BY x"
    )


def json_rows(rows: Iterator[tuple[str, int]]) -> bytes:
    return b"".join(json.dumps({"d": d, "x": x}).encode() + b"\n" for d, x in rows)


def test_too_many_partitions_in_one_insert(server: Server) -> None:
    table = new_monthly_table(server)
    reply = server.request(f"INSERT INTO {table} FORMAT JSONEachRow", body=json_rows(months_from_2000(150)))
    assert_error(reply, 500, 252, "TOO_MANY_PARTS")
    assert "Too many partitions for single INSERT block (more than 100)" in reply.text
    assert "X-ClickHouse-Summary" not in reply.headers
    assert count(server, table) == 0
    # 100 partitions is the limit (max_partitions_per_insert_block), not over it.
    accepted = server.request(f"INSERT INTO {table} FORMAT JSONEachRow", body=json_rows(months_from_2000(100)))
    assert accepted.status == 200, accepted.text
    stored = server.sql(f"SELECT count(), uniqExact(toYYYYMM(d)), sum(x) FROM {table}")
    assert stored == f"100\t100\t{sum(range(100))}\n"


def test_too_many_partitions_in_a_binary_insert(server: Server) -> None:
    table = new_monthly_table(server)
    # RowBinary DateTime64(3): milliseconds since the epoch as Int64; then the UInt32.
    rows = b"".join(struct.pack("<qI", (946684800 + i * 32 * 86400) * 1000, i) for i in range(150))
    reply = server.request(f"INSERT INTO {table} FORMAT RowBinary", body=rows)
    assert_error(reply, 500, 252, "TOO_MANY_PARTS")
    assert count(server, table) == 0


def test_violated_constraint(server: Server) -> None:
    table = new_table(server, "x UInt32, CONSTRAINT small CHECK x < 10", "MergeTree ORDER BY x")
    reply = server.request(f"INSERT INTO {table} FORMAT JSONEachRow", body=b'{"x":1}\n{"x":50}\n')
    assert_error(reply, 500, 469, "VIOLATED_CONSTRAINT")
    assert "Constraint `small`" in reply.text
    assert count(server, table) == 0


def test_failing_materialized_view(server: Server) -> None:
    source = new_table(server, "x UInt32", "MergeTree ORDER BY x")
    target = new_table(server, "x UInt32", "MergeTree ORDER BY x")
    server.sql(
        f"CREATE MATERIALIZED VIEW {target}_mv TO {target} AS SELECT x + throwIf(x = 5, 'five') AS x FROM {source}"
    )
    reply = server.request(f"INSERT INTO {source} FORMAT JSONEachRow", body=b'{"x":1}\n{"x":5}\n')
    assert_error(reply, 500, 395, "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO")
    assert count(server, target) == 0


@pytest.mark.parametrize(
    ("input_format", "rows", "status", "code", "name", "where"),
    [
        ("JSONEachRow", b'{"id":1}\n{"id":"x"}\n', 400, 27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "(at row 2)"),
        ("JSONEachRow", b'{"id":-1}\n', 400, 72, "CANNOT_PARSE_NUMBER", "key id"),
        ("JSONEachRow", b'{"id":1,"at":"yesterday"}\n', 400, 41, "CANNOT_PARSE_DATETIME", "key at"),
        ("CSV", b"1,a,2024-01-01\nx,b,2024-01-01\n", 400, 27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "(at row 2)"),
        ("Values", b"(1, 'a', now()), ('x', 'b', now())", 400, 6, "CANNOT_PARSE_TEXT", "'x' as UInt32"),
        ("RowBinary", struct.pack("<I", 7) + b"\x01", 500, 33, "CANNOT_READ_ALL_DATA", "Cannot read all data"),
    ],
)
def test_type_mismatch_in_inserted_data(
    server: Server, input_format: str, rows: bytes, status: int, code: int, name: str, where: str
) -> None:
    table = new_table(server, "id UInt32, name String, at DateTime64(3, 'UTC')", "MergeTree ORDER BY id")
    reply = server.request(f"INSERT INTO {table} FORMAT {input_format}", body=rows)
    assert_error(reply, status, code, name)
    assert where in reply.text
    for added_by_this_server in ("in file/uri", "INFILE", "parsed from file", "http query_id"):
        assert added_by_this_server not in reply.text
    assert count(server, table) == 0  # one bad row fails the block: no good row is half-stored


def test_unknown_column(server: Server) -> None:
    table = new_table(server, "id UInt32, name String", "MergeTree ORDER BY id")
    assert_error(server.request(f"SELECT nope FROM {table}"), 404, 47, "UNKNOWN_IDENTIFIER")
    assert_error(server.request(f"INSERT INTO {table} (nope) VALUES (1)"), 500, 16, "NO_SUCH_COLUMN_IN_TABLE")
    strict = server.request(
        f"INSERT INTO {table} FORMAT JSONEachRow",
        params={"input_format_skip_unknown_fields": "0"},
        body=b'{"id":1,"nope":2}\n',
    )
    assert_error(strict, 400, 117, "INCORRECT_DATA")
    assert "Unknown field found while parsing JSONEachRow format: nope" in strict.text
    assert count(server, table) == 0
    # ClickHouse skips unknown JSON fields by default: the row is stored without them.
    lenient = server.request(f"INSERT INTO {table} FORMAT JSONEachRow", body=b'{"id":1,"nope":2,"name":"a"}\n')
    assert lenient.status == 200, lenient.text
    assert server.sql(f"SELECT id, name FROM {table}") == "1\ta\n"


def test_empty_insert(server: Server) -> None:
    table = new_table(server)
    reply = server.request(f"INSERT INTO {table} FORMAT JSONEachRow")
    assert reply.status == 200, reply.text
    assert json.loads(reply.headers["X-ClickHouse-Summary"])["written_rows"] == "0"
    assert count(server, table) == 0
    assert_error(server.request("INSERT INTO no_such_table FORMAT JSONEachRow"), 404, 60, "UNKNOWN_TABLE")


# ---------------------------------------------------------------- statements


def test_syntax_error(server: Server) -> None:
    reply = server.request("SELEC 1")
    assert_error(reply, 400, 62, "SYNTAX_ERROR")
    assert "http query_id" not in reply.text  # the server's own tag never shows


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


def test_syntax_error_in_a_multi_statement_request_runs_nothing(server: Server) -> None:
    table = new_table(server)
    created = f"t_{uuid.uuid4().hex[:12]}"
    for request in (
        f"INSERT INTO {table} SELECT 1, 'a'; SELEC 2",
        f"SELEC 1; INSERT INTO {table} SELECT 1, 'a'",
        f"CREATE TABLE {created} (x UInt8) ENGINE = Memory; SELECT (",
        # chDB alone would run the second statement after VALUES data; ClickHouse never does.
        f"INSERT INTO {table} VALUES (1, 'a;b'); DROP TABLE {table}",
        f"INSERT INTO {table} FORMAT Values (1, 'a'); DROP TABLE {table}",
    ):
        assert_error(server.request(body=request.encode()), 400, 62, "SYNTAX_ERROR")
    assert count(server, table) == 0
    assert server.sql(f"EXISTS TABLE {created}") == "0\n"
    # A `;` ending VALUES data, or inside its strings, is still one statement.
    server.sql(f"INSERT INTO {table} VALUES (1, 'a;b'), (2, ');'); -- done")
    assert server.sql(f"SELECT name FROM {table} ORDER BY id") == "a;b\n);\n"


def test_into_outfile_is_refused(server: Server) -> None:
    reply = server.request("SELECT 1 INTO OUTFILE 'x.txt'")
    assert_error(reply, 500, 358, "INTO_OUTFILE_NOT_ALLOWED")


def test_unknown_setting(server: Server) -> None:
    reply = server.request("SELECT 1", params={"no_such_setting": "1"})
    assert_error(reply, 404, 115, "UNKNOWN_SETTING")
    assert_error(server.request("SELECT 1", params={"bad-name": "1"}), 404, 115, "UNKNOWN_SETTING")


def test_max_execution_time(server: Server) -> None:
    reply = server.request("SELECT sleep(2)", params={"max_execution_time": "1"})
    assert_error(reply, 408, 159, "TIMEOUT_EXCEEDED")


# ---------------------------------------------------------------- killed queries

# 40 blocks of one row, 0.5 s each: 20 s unless killed.
LONG_QUERY = "SELECT sleepEachRow(0.5) FROM numbers(40) SETTINGS max_block_size = 1"


def kill_until_ended(server: Server, where: str, victims: list[threading.Thread]) -> str:
    """KILL QUERY … SYNC until every victim's request has ended (a victim may not have
    started yet when the first KILL runs); the KILL outputs, joined."""
    deadline = time.monotonic() + 10
    outputs = []
    while any(victim.is_alive() for victim in victims) and time.monotonic() < deadline:
        reply = server.request(f"KILL QUERY WHERE {where} SYNC")
        assert reply.status == 200, reply.text
        outputs.append(reply.text)
        time.sleep(0.1)
    return "".join(outputs)


def test_killed_query(server: Server) -> None:
    victim_id, bystander_id = f"victim-{uuid.uuid4()}", f"bystander-{uuid.uuid4()}"
    replies: dict[str, Reply] = {}

    def run(query_id: str, sql: str) -> threading.Thread:
        def request() -> None:
            replies[query_id] = server.request(sql, params={"query_id": query_id})

        thread = threading.Thread(target=request)
        thread.start()
        return thread

    started = time.monotonic()
    victim, bystander = run(victim_id, LONG_QUERY), run(bystander_id, "SELECT sleep(2)")
    killed = kill_until_ended(server, f"query_id = '{victim_id}'", [victim])
    bystander.join()

    assert_error(replies[victim_id], 500, 394, "QUERY_WAS_CANCELLED")
    assert time.monotonic() - started < 10  # not the 20 s the query takes
    assert killed.startswith("finished\t") and victim_id in killed, killed  # the statement, with its tag
    assert replies[bystander_id].status == 200, replies[bystander_id].text  # only the victim dies
    assert server.sql("SELECT 1") == "1\n"


def test_kill_query_where_forms(server: Server) -> None:
    """query_id in any expression means the HTTP query_id; other columns keep their meaning."""
    prefix = f"batch-{uuid.uuid4().hex[:8]}"
    replies: dict[str, Reply] = {}
    victims = []
    for query_id in (f"{prefix}-1", f"{prefix}-2"):
        victims.append(threading.Thread(
            target=lambda q=query_id: replies.update({q: server.request(LONG_QUERY, params={"query_id": q})})
        ))
        victims[-1].start()
    killed = kill_until_ended(server, f"startsWith(query_id, '{prefix}') AND user = 'default'", victims)
    assert sorted(replies) == [f"{prefix}-1", f"{prefix}-2"] and f"{prefix}-2" in killed
    for reply in replies.values():
        assert_error(reply, 500, 394, "QUERY_WAS_CANCELLED")


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
    table = new_table(server)
    for statement in ("CREATE TABLE from_get (x UInt8) ENGINE = Memory", f"INSERT INTO {table} VALUES (1, 'a')"):
        reply = server.request(statement, method="GET")
        assert_error(reply, 500, 164, "READONLY")
        assert "method GET implies readonly" in reply.text
    assert server.sql("EXISTS TABLE from_get") == "0\n"
    assert count(server, table) == 0
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
    for statement in (f"INSERT INTO {table} VALUES (1)", f"DROP TABLE {table}", "SET max_threads = 1",
                      f"KILL QUERY WHERE query_id = 'x'"):
        assert_error(secured.request(statement, headers=grafana), 500, 164, "READONLY")
    insert_in_body = secured.request(f"INSERT INTO {table} FORMAT JSONEachRow", body=b'{"x":1}\n', headers=grafana)
    assert_error(insert_in_body, 500, 164, "READONLY")
    assert secured.request(f"SELECT count() FROM {table}", headers=grafana).text == "0\n"
    changes_setting = secured.request("SELECT 1", params={"max_result_rows": "5"}, headers=grafana)
    assert_error(changes_setting, 500, 164, "READONLY")
    assert "Cannot modify 'max_result_rows' setting in readonly mode" in changes_setting.text
    lowers_readonly = secured.request("SELECT 1", params={"readonly": "0"}, headers=grafana)
    assert_error(lowers_readonly, 500, 164, "READONLY")
    client_defaults = {"enable_http_compression": "1", "output_format_json_quote_64bit_integers": "0",
                       "date_time_input_format": "best_effort", "readonly": "1"}
    assert secured.request("SELECT 1", params=client_defaults, headers=grafana).status == 200
