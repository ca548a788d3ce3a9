"""Requests served at once: a pool of chDB connections, each request's state kept to itself."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Reply, Server, assert_error, count, new_table, run_together

SLEEP_S = 1.5


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that runs at most two requests at once."""
    running = Server(tmp_path_factory.mktemp("pair") / "data", max_concurrent=2).start()
    yield running
    assert running.stop() == 0


def sleeper(server: Server, seconds: float = SLEEP_S) -> Reply:
    return server.request(f"SELECT sleep({seconds})")


# ---------------------------------------------------------------- parallelism


def test_concurrent_reads_overlap(server: Server) -> None:
    replies, elapsed = run_together(*[lambda: sleeper(server)] * 4)  # the default pool: 4
    assert [reply.status for reply in replies] == [200] * 4
    assert SLEEP_S <= elapsed < SLEEP_S * 1.6  # one after another would be 4x


def test_max_concurrent_bounds_the_engine(pair: Server) -> None:
    _, two = run_together(*[lambda: sleeper(pair)] * 2)
    assert two < SLEEP_S * 1.6
    replies, three = run_together(*[lambda: sleeper(pair)] * 3)
    assert [reply.status for reply in replies] == [200] * 3
    assert three >= SLEEP_S * 2  # the third waited for a free connection


def test_ping_and_kill_answer_while_every_connection_is_busy(pair: Server) -> None:
    tag = f"busy-{uuid.uuid4().hex[:8]}"
    long_query = "SELECT sleepEachRow(0.5) FROM numbers(40) SETTINGS max_block_size = 1"
    replies: list[Reply] = []
    victims = [
        threading.Thread(target=lambda n=n: replies.append(pair.request(long_query, params={"query_id": f"{tag}-{n}"})))
        for n in range(2)
    ]
    for victim in victims:
        victim.start()
    time.sleep(0.5)
    started = time.monotonic()
    assert pair.request(method="GET", path="/ping").text == "Ok.\n"
    assert time.monotonic() - started < 0.5
    # KILL has a connection of its own, so it never waits behind its victims.
    deadline = time.monotonic() + 10
    while any(victim.is_alive() for victim in victims) and time.monotonic() < deadline:
        kill = pair.request(f"KILL QUERY WHERE startsWith(query_id, '{tag}') SYNC")
        assert kill.status == 200, kill.text
        time.sleep(0.1)
    for victim in victims:
        victim.join()
    assert time.monotonic() - started < 10
    for reply in replies:
        assert_error(reply, 500, 394, "QUERY_WAS_CANCELLED")


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


# ---------------------------------------------------------------- inserts


def batch_rows(writer: int, batch: int, size: int = 50) -> list[int]:
    return [writer * 1_000_000 + batch * 1_000 + i for i in range(size)]


def insert_batch(server: Server, table: str, ids: list[int], token: str) -> Reply:
    body = "".join(json.dumps({"id": i, "name": f"n{i}"}) + "\n" for i in ids).encode()
    return server.request(
        f"INSERT INTO {table} FORMAT JSONEachRow", params={"insert_deduplication_token": token}, body=body
    )


def test_concurrent_inserts_land_exactly(server: Server) -> None:
    engine = "MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 1000"
    tables = [new_table(server, engine=engine), new_table(server, engine=engine)]
    # Four writers, two per table, ten batches each, each batch under its own token.
    plan = [(writer, tables[writer % 2], batch) for writer in range(4) for batch in range(10)]
    errors: list[str] = []
    writing = threading.Event()

    def write(writer: int) -> None:
        for w, table, batch in plan:
            if w == writer:
                reply = insert_batch(server, table, batch_rows(w, batch), f"{table}-{w}-{batch}")
                if reply.status != 200:
                    errors.append(reply.text)

    def read() -> None:
        while writing.is_set():
            for table in tables:
                reply = server.request(f"SELECT count(), sleep(0.05) FROM {table}")
                if reply.status != 200:
                    errors.append(reply.text)

    def run_all() -> None:
        writing.set()
        readers = [threading.Thread(target=read) for _ in range(2)]
        for reader in readers:
            reader.start()
        run_together(*(lambda w=w: write(w) for w in range(4)))
        writing.clear()
        for reader in readers:
            reader.join()

    def expected(table: str) -> str:
        ids = [i for w, t, batch in plan if t == table for i in batch_rows(w, batch)]
        return f"{len(ids)}\t{sum(ids)}\t{len(set(ids))}\n"

    run_all()
    assert errors == []
    for table in tables:
        assert server.sql(f"SELECT count(), sum(id), uniqExact(id) FROM {table}") == expected(table)
    run_all()  # every batch again, same tokens: retries, so nothing is added
    assert errors == []
    for table in tables:
        assert server.sql(f"SELECT count(), sum(id), uniqExact(id) FROM {table}") == expected(table)


def test_one_token_sent_at_once_by_many_lands_once(server: Server) -> None:
    table = new_table(server, engine="MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100")
    same_token = (lambda w=w: insert_batch(server, table, batch_rows(w, 0), "one-token") for w in range(6))
    replies, _ = run_together(*same_token)
    assert [reply.status for reply in replies] == [200] * 6
    landed = server.sql(
        f"SELECT intDiv(id, 1000000) AS writer, count() FROM {table} GROUP BY writer FORMAT JSONEachRow"
    )
    rows = [json.loads(line) for line in landed.splitlines()]
    assert len(rows) == 1 and rows[0]["count()"] == 50  # exactly one writer's batch


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


# ---------------------------------------------------------------- per-request state


DEFAULTS = "0\tdefault\t0\n"  # max_result_rows, database, readonly of a request that sets none
PROBE = "SELECT getSetting('max_result_rows'), currentDatabase(), getSetting('readonly')"


def test_request_state_is_invisible_to_concurrent_requests(server: Server) -> None:
    database = f"db_{uuid.uuid4().hex[:8]}"
    server.sql(f"CREATE DATABASE {database}")
    table = new_table(server)

    def probes() -> list[str]:
        seen = []
        deadline = time.monotonic() + SLEEP_S
        while time.monotonic() < deadline:
            seen.append(server.request(PROBE).text)
            written = server.request(f"INSERT INTO {table} FORMAT JSONEachRow", body=b'{"id":1,"name":"x"}\n')
            seen.append(str(written.status))
        return seen

    (held, held_readonly, seen), _ = run_together(
        lambda: server.request(
            f"SELECT sleep({SLEEP_S}), getSetting('max_result_rows'), currentDatabase()",
            params={"max_result_rows": "7", "database": database},
        ),
        lambda: server.request(f"SELECT sleep({SLEEP_S})", params={"readonly": "1"}),
        probes,
    )
    assert held.text == f"0\t7\t{database}\n"  # the holder had its own state…
    assert held_readonly.status == 200
    assert set(seen) == {DEFAULTS, "200"}  # …which no request beside it saw, and writes went on
    assert count(server, table) == seen.count("200")
    # And none of it stayed on the connections: one probe per connection, all at once.
    replies, _ = run_together(*[lambda: server.request(f"{PROBE}, sleep(0.3)")] * 4)
    assert {reply.text for reply in replies} == {"0\tdefault\t0\t0\n"}


def test_set_and_use_in_concurrent_requests(server: Server) -> None:
    """A request's own SET/USE statements end with it, while others run on other connections."""
    replies, _ = run_together(
        lambda: server.request("SET max_result_rows = 3"),
        lambda: server.request("USE system"),
        *[lambda: server.request(f"{PROBE}, sleep(0.2)")] * 3,
    )
    assert [reply.status for reply in replies] == [200] * 5
    assert {reply.text for reply in replies[2:]} == {"0\tdefault\t0\t0\n"}
    after, _ = run_together(*[lambda: server.request(f"{PROBE}, sleep(0.3)")] * 4)
    assert {reply.text for reply in after} == {"0\tdefault\t0\t0\n"}


# ---------------------------------------------------------------- materialized views


def events(batch: int) -> list[dict[str, object]]:
    return [{"k": f"k{(batch * 7 + i) % 5}", "v": batch * 100 + i, "u": f"user{i % 3}"} for i in range(20)]


def insert_events(server: Server, table: str, rows: list[dict[str, object]], **params: str) -> Reply:
    body = "".join(json.dumps(row) + "\n" for row in rows).encode()
    reply = server.request(f"INSERT INTO {table} FORMAT JSONEachRow", params=params, body=body)
    assert reply.status == 200, reply.text
    return reply


def sums_by_key(rows: list[dict[str, object]]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for row in rows:
        totals[str(row["k"])] += int(str(row["v"]))
    return dict(totals)


def test_materialized_views_fire_on_concurrent_inserts(server: Server) -> None:
    source = new_table(server, "k String, v UInt64, u String", "MergeTree ORDER BY k")
    summed = new_table(server, "k String, v UInt64", "SummingMergeTree ORDER BY k")
    aggregated = new_table(
        server,
        "k String, total AggregateFunction(sum, UInt64), users AggregateFunction(uniqExact, String)",
        "AggregatingMergeTree ORDER BY k",
    )
    server.sql(f"CREATE MATERIALIZED VIEW {summed}_mv TO {summed} AS SELECT k, sum(v) AS v FROM {source} GROUP BY k")
    server.sql(
        f"CREATE MATERIALIZED VIEW {aggregated}_mv TO {aggregated} AS "
        f"SELECT k, sumState(v) AS total, uniqExactState(u) AS users FROM {source} GROUP BY k"
    )
    batches = list(range(8))
    run_together(*(lambda b=b: insert_events(server, source, events(b)) for b in batches))

    every_row = [row for b in batches for row in events(b)]
    expected = sums_by_key(every_row)
    users = {key: len({row["u"] for row in every_row if row["k"] == key}) for key in expected}
    got = server.sql(f"SELECT k, sum(v) FROM {summed} GROUP BY k ORDER BY k FORMAT JSONCompactEachRow")
    assert {k: v for k, v in map(json.loads, got.splitlines())} == expected
    merged = server.sql(
        f"SELECT k, sumMerge(total), uniqExactMerge(users) FROM {aggregated} GROUP BY k ORDER BY k "
        "FORMAT JSONCompactEachRow"
    )
    assert {k: (total, n) for k, total, n in map(json.loads, merged.splitlines())} == {
        key: (expected[key], users[key]) for key in expected
    }


@pytest.mark.parametrize(
    ("dedup_in_views", "target_window", "copies_in_target"),
    [
        ("1", 100, 1),  # the retry is dropped in the source and in the view's target
        ("1", 0, 2),  # chDB: the view fires for the dropped retry, and a target without a window keeps it
        ("0", 100, 2),  # without the setting, targets are not deduplicated at all
    ],
)
def test_retried_insert_and_materialized_view(
    server: Server, dedup_in_views: str, target_window: int, copies_in_target: int
) -> None:
    source = new_table(
        server,
        "k String, v UInt64, u String",
        "MergeTree ORDER BY k SETTINGS non_replicated_deduplication_window = 100",
    )
    target = new_table(
        server, "k String, v UInt64",
        f"SummingMergeTree ORDER BY k SETTINGS non_replicated_deduplication_window = {target_window}",
    )
    server.sql(f"CREATE MATERIALIZED VIEW {target}_mv TO {target} AS SELECT k, sum(v) AS v FROM {source} GROUP BY k")
    settings = {
        "insert_deduplication_token": "batch-1",
        "deduplicate_blocks_in_dependent_materialized_views": dedup_in_views,
    }
    insert_events(server, source, events(1), **settings)
    insert_events(server, source, events(1), **settings)  # the retry
    assert count(server, source) == len(events(1))
    got = server.sql(f"SELECT k, sum(v) FROM {target} GROUP BY k ORDER BY k FORMAT JSONCompactEachRow")
    once = sums_by_key(events(1))
    assert {k: v for k, v in map(json.loads, got.splitlines())} == {k: v * copies_in_target for k, v in once.items()}


# ---------------------------------------------------------------- lifecycle


def test_max_concurrent_must_be_positive(tmp_path: Path) -> None:
    refused = Server(tmp_path / "data", max_concurrent=0)
    with pytest.raises(AssertionError, match="exited during startup"):
        refused.start()
    assert refused.process is not None and refused.process.wait(10) == 2
