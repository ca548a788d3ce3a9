"""ClickHouse's HTTP interface, served by chDB.

No clickhouse-server binary can be obtained on the machines this project runs on,
but chDB (the ClickHouse engine packaged as a Python library) can. This server
puts the HTTP protocol of clickhouse-server in front of a pool of chDB
connections to one data directory, so that `@clickhouse/client`, curl and other
HTTP clients work against it unchanged: the same URL parameters, headers, error
texts, error codes and HTTP statuses as the real server.

What it adds around the engine, and why:

* Up to --max-concurrent requests run at once, each on a chDB connection (and
  thread) of its own; chDB runs different connections' queries in parallel and
  keeps USE and SET per connection. A request's database and settings are
  applied before its statement and undone after it on that connection, so they
  never reach another request. chDB releases the GIL while it works, so /ping
  and the HTTP layer stay responsive meanwhile.
* INSERT data goes to the engine inside the statement text (as bytes, so binary
  formats work), never through chDB's streaming insert API: that API's finish()
  reports success for blocks the engine then refused (too many partitions, a
  violated constraint, a failing materialized view) and nothing is stored.
* Multi-statement requests are refused before the engine sees them: chDB would
  run every statement, including one after the `;` that ends VALUES data.
* Each statement carries a comment with its HTTP query_id, because chDB gives
  queries ids of its own; KILL QUERY's WHERE reads query_id from that comment,
  and KILL runs on a connection of its own so it never waits behind its victims.
* `readonly` is emulated instead of SET: `SET readonly = 1` would lock the
  connection for good. Statements are classified by a small lexer.
* Users come from an optional JSON file; chDB has no access control of its own.

Run: python server.py --port 8123 --host 127.0.0.1 --data-dir DIR [--users-file FILE] [--max-concurrent N]
     [--tls-cert-file CERT --tls-key-file KEY]   (HTTPS instead of HTTP)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import gzip
import hmac
import json
import os
import re
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import time
import traceback
import urllib.parse
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aiohttp import web
import chdb

# clickhouse-server's default http_max_uri_size (1 MiB); aiohttp's own default is 8 KiB.
MAX_URI_SIZE = 1 << 20

# --------------------------------------------------------------------------
# Errors, as ClickHouse reports them
# --------------------------------------------------------------------------

BAD_ARGUMENTS = 36
NOT_IMPLEMENTED = 48
SYNTAX_ERROR = 62
UNKNOWN_FORMAT = 73
UNKNOWN_TYPE_OF_QUERY = 78
UNKNOWN_SETTING = 115
READONLY = 164
QUERY_IS_TOO_LARGE = 229
ZLIB_INFLATE_FAILED = 354
INTO_OUTFILE_NOT_ALLOWED = 358
AUTHENTICATION_FAILED = 516
STD_EXCEPTION = 1001

# Names of the codes this server raises itself; the engine names its own.
ERROR_NAMES = {
    BAD_ARGUMENTS: "BAD_ARGUMENTS",
    NOT_IMPLEMENTED: "NOT_IMPLEMENTED",
    SYNTAX_ERROR: "SYNTAX_ERROR",
    UNKNOWN_FORMAT: "UNKNOWN_FORMAT",
    UNKNOWN_TYPE_OF_QUERY: "UNKNOWN_TYPE_OF_QUERY",
    UNKNOWN_SETTING: "UNKNOWN_SETTING",
    READONLY: "READONLY",
    QUERY_IS_TOO_LARGE: "QUERY_IS_TOO_LARGE",
    ZLIB_INFLATE_FAILED: "ZLIB_INFLATE_FAILED",
    INTO_OUTFILE_NOT_ALLOWED: "INTO_OUTFILE_NOT_ALLOWED",
    AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED",
    STD_EXCEPTION: "STD_EXCEPTION",
}


def _status_table() -> dict[int, int]:
    """ClickHouse's exceptionCodeToHTTPStatus: codes not listed answer 500.

    Transcribed from src/Server/HTTP/exceptionCodeToHTTPStatus.cpp in ClickHouse/ClickHouse
    (commit 08f89d9b15f5169384647044247bc230c694b37a), which HTTPHandler.cpp uses for every
    error; test_conformance.py checks each code's name against it with errorCodeToName().
    """
    groups = {
        401: [194],  # REQUIRED_PASSWORD
        # UNKNOWN_USER, WRONG_PASSWORD, ACCESS_DENIED, SET_NON_GRANTED_ROLE, AUTHENTICATION_FAILED
        403: [192, 193, 497, 512, 516],
        # Parse errors, bad arguments, type mismatches, malformed ASTs.
        400: [6, 8, 15, 25, 26, 27, 36, 37, 38, 41, 44, 53, 62, 72, 117, 123,
              167, 168, 223, 321, 376, 427, 441, 675, 676],
        # Unknown table, function, identifier, type, storage, database, setting,
        # sorting direction, aggregate function, format, database engine, query type, role.
        404: [46, 47, 50, 56, 60, 63, 73, 78, 81, 115, 152, 336, 511],
        411: [381],  # HTTP_LENGTH_REQUIRED
        408: [159],  # TIMEOUT_EXCEEDED
        413: [229],  # QUERY_IS_TOO_LARGE
        415: [779],  # UNSUPPORTED_MEDIA_TYPE
        501: [48],  # NOT_IMPLEMENTED
        503: [76, 209, 439],  # CANNOT_OPEN_FILE, SOCKET_TIMEOUT, CANNOT_SCHEDULE_TASK
    }
    return {code: status for status, codes in groups.items() for code in codes}


HTTP_STATUS_BY_CODE = _status_table()
_ENGINE_CODE = re.compile(r"Code: (\d+)\.")
_NESTED_ERROR = re.compile(
    r"Code: (?P<code>\d+)\. DB::Exception: (?P<inner>Code: (?P=code)\. .*\(version [^)]*\))\. \([A-Z0-9_]+\)", re.S
)


class ClickHouseError(Exception):
    """A failure with ClickHouse's numeric code and its full text, `Code: N. DB::Exception: ... (NAME)`."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text

    @classmethod
    def new(cls, code: int, message: str) -> ClickHouseError:
        if not message.endswith("."):
            message += "."
        return cls(code, f"Code: {code}. DB::Exception: {message} ({ERROR_NAMES[code]})")

    @classmethod
    def from_engine(cls, exc: BaseException, hidden: Iterable[str] = ()) -> ClickHouseError:
        """Wrap a chDB exception, without the `hidden` texts this server added to the query.

        chDB prefixes some texts, so the code is searched for; errors raised in its
        client layer come wrapped twice (`Code: N. …: Code: N. … (version V). (NAME)`).
        """
        text = str(exc).strip()
        for added in hidden:
            text = text.replace(added, "")
        match = _ENGINE_CODE.search(text)
        if match is None:
            return cls.new(STD_EXCEPTION, text or type(exc).__name__)
        text = text[match.start() :]
        nested = _NESTED_ERROR.fullmatch(text)
        return cls(int(match.group(1)), nested["inner"] if nested else text)

    @property
    def http_status(self) -> int:
        return HTTP_STATUS_BY_CODE.get(self.code, 500)

    def body(self, version: str) -> bytes:
        text = self.text if "(version " in self.text else f"{self.text} (version {version})"
        return (text + "\n").encode()


# --------------------------------------------------------------------------
# Statement analysis: just enough lexing to classify a statement
# --------------------------------------------------------------------------


class Token(NamedTuple):
    kind: str  # "word", "string", "quoted" (identifier) or "punct"
    text: str
    start: int
    end: int


_TOKEN = re.compile(
    r"""
      (?P<space>[ \t\n\r\f\v]+)
    | (?P<comment>(?:--|\#)[^\n]*)
    | (?P<block_comment>/\*)
    | (?P<heredoc>\$[A-Za-z0-9_]*\$)
    | (?P<string>'(?:[^'\\]+|\\.|'')*'?)
    | (?P<quoted>"(?:[^"\\]+|\\.|"")*"?|`(?:[^`\\]+|\\.|``)*`?)
    | (?P<word>[A-Za-z0-9_\x80-\xff]+)
    | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_COMMENT_EDGE = re.compile(r"/\*|\*/")


def iter_tokens(text: str) -> Iterator[Token]:
    """ClickHouse's lexical structure, minus whitespace and comments (which nest, as in ClickHouse)."""
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        assert match is not None  # the `punct` branch matches any character
        kind, end = match.lastgroup, match.end()
        if kind == "block_comment":
            depth = 1
            while depth:
                edge = _COMMENT_EDGE.search(text, end)
                if edge is None:
                    return
                depth += 1 if edge.group() == "/*" else -1
                end = edge.end()
        elif kind == "heredoc":
            closing = text.find(match.group(), end)
            end = len(text) if closing < 0 else closing + len(match.group())
            yield Token("string", text[match.start():end], match.start(), end)
        elif kind not in ("space", "comment"):
            yield Token(kind, match.group(), match.start(), end)
        pos = end


def _unquote(token: Token) -> str:
    return token.text[1:-1] if token.kind == "quoted" else token.text


@dataclass(frozen=True)
class InlineData:
    """Where `INSERT ... FORMAT f <data>` / `INSERT ... VALUES <data>` splits into SQL and data."""

    head_end: int  # the SQL ends before the FORMAT / VALUES keyword
    data_start: int
    input_format: str
    format_clause: str  # `FORMAT name` as written; `FORMAT Values` for VALUES
    settings_at: int | None  # a top-level SETTINGS clause of the INSERT, before the data


@dataclass(frozen=True)
class Statement:
    """What the server needs to know about a statement before the engine sees it."""

    keyword: str  # first keyword, upper-cased
    is_empty: bool  # nothing but whitespace, comments and semicolons
    terminator_at: int | None  # offset of the first top-level `;`
    second_statement_at: int | None  # offset of the `;` that a second statement follows
    output_format: str | None  # a FORMAT clause of a non-INSERT statement
    inline_data: InlineData | None
    set_names: tuple[str, ...]  # settings a SET statement changes
    file_clause: str | None  # INTO OUTFILE / FROM INFILE, which HTTP does not allow


def _insert_data_start(text: str, pos: int) -> int:
    """As ClickHouse's INSERT parser: data starts after the first newline, else after blanks."""
    while pos < len(text) and text[pos] in " \t\f":
        pos += 1
    if text.startswith("\r", pos):
        pos += 1
    if text.startswith("\n", pos):
        pos += 1
    return pos


def analyze_statement(text: str) -> Statement:
    """Classify one statement; `text` is the raw bytes decoded as latin-1 so offsets are byte offsets."""
    tokens = iter_tokens(text)
    keyword: str | None = None
    top_level: list[Token] = []  # tokens outside brackets
    depth = 0
    previous_word = ""
    only_semicolons = True
    semicolon_at: int | None = None
    second_statement_at: int | None = None
    insert_select = False  # the INSERT takes its rows from a SELECT, not from inline data
    insert_settings_at: int | None = None
    inline_data: InlineData | None = None
    file_clause: str | None = None

    for token in tokens:
        word = token.text.upper() if token.kind == "word" else ""
        if keyword is None and token.text != "(":
            keyword = word
        if token.text != ";":
            only_semicolons = False
            if semicolon_at is not None and second_statement_at is None:
                second_statement_at = semicolon_at
        if (previous_word, word) in (("INTO", "OUTFILE"), ("FROM", "INFILE")):
            file_clause = f"{previous_word} {word}"
        previous_word = word

        if token.kind == "punct" and token.text in "([{":
            depth += 1
        elif token.kind == "punct" and token.text in ")]}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            top_level.append(token)
            if token.text == ";" and semicolon_at is None:
                semicolon_at = token.start
            if keyword == "INSERT" and word in ("SELECT", "WITH"):
                insert_select = True
            if keyword == "INSERT" and word == "SETTINGS" and insert_settings_at is None:
                insert_settings_at = token.start
            if keyword == "INSERT" and not insert_select and word == "VALUES":
                inline_data = InlineData(token.start, token.end, "Values", "FORMAT Values", insert_settings_at)
                break
            if keyword == "INSERT" and not insert_select and word == "FORMAT":
                name = next(tokens, None)
                if name is not None and name.kind in ("word", "quoted"):
                    inline_data = InlineData(
                        token.start,
                        _insert_data_start(text, name.end),
                        _unquote(name),
                        text[token.start : name.end],
                        insert_settings_at,
                    )
                break  # whatever follows is data, not SQL

    if inline_data is not None and inline_data.input_format.lower() == "values":
        # Values rows are SQL literals that may end with `;`. ClickHouse's reader ignores
        # what follows; chDB would run it if it were ever in the statement text, and a
        # second statement is refused anyway (`;` is rare: check first).
        if ";" in text[inline_data.data_start :]:
            second_statement_at = _statement_after_values(tokens)

    return Statement(
        keyword=keyword or "",
        is_empty=only_semicolons,
        terminator_at=semicolon_at,
        second_statement_at=second_statement_at,
        output_format=None if keyword == "INSERT" else _output_format(top_level),
        inline_data=inline_data,
        set_names=_set_names(top_level) if keyword == "SET" else (),
        file_clause=file_clause,
    )


def _statement_after_values(tokens: Iterator[Token]) -> int | None:
    """Offset of a top-level `;` in Values data that more SQL follows, if any."""
    depth = 0
    semicolon_at: int | None = None
    for token in tokens:
        if semicolon_at is not None:
            return semicolon_at
        if token.kind == "punct" and token.text in "([{":
            depth += 1
        elif token.kind == "punct" and token.text in ")]}":
            depth = max(depth - 1, 0)
        elif depth == 0 and token.text == ";":
            semicolon_at = token.start
    return None


def _output_format(top_level: list[Token]) -> str | None:
    """The last top-level `FORMAT name` that ends the statement or precedes SETTINGS."""
    found = None
    for i in range(len(top_level) - 1):
        if top_level[i].text.upper() != "FORMAT" or top_level[i + 1].kind not in ("word", "quoted"):
            continue
        after = top_level[i + 2].text.upper() if i + 2 < len(top_level) else ";"
        if after in (";", "SETTINGS"):
            found = _unquote(top_level[i + 1])
    return found


def query_id_comment(query_id: str) -> str:
    """A comment naming the HTTP query_id, which every statement is tagged with.

    chDB gives every query an id of its own and cannot take the client's, so the
    comment is how KILL QUERY finds a request in system.processes (see
    rewrite_kill_query). Percent-encoded, so no id can end the comment early.
    """
    return f"{QUERY_ID_COMMENT_PREFIX}{urllib.parse.quote(query_id, safe='')} */"


def tag_statement(text: str, statement: Statement, comment: str) -> str:
    """The statement with its comment before a trailing `;` (chDB drops what follows it
    from the logged query) or at the end, where it shifts no error position."""
    at = len(text) if statement.terminator_at is None else statement.terminator_at
    # Newlines: a `--` comment may end the text, and the comment must not join a token.
    return f"{text[:at]}\n{comment}\n{text[at:]}"


QUERY_ID_COMMENT_PREFIX = "/* http query_id: "
# The HTTP query_id of a process, read back from its tag; the engine's own id for untagged ones.
CLIENT_QUERY_ID_SQL = (
    r"coalesce(nullIf(decodeURLComponent(extract(query, '/\\* http query_id: ([A-Za-z0-9%._~-]+) \\*/')), ''),"
    r" query_id)"
)


def rewrite_kill_query(text: str) -> str:
    """`KILL QUERY WHERE query_id = 'x'` with query_id meaning the HTTP query_id, as on a real server.

    The WHERE runs over system.processes, whose query_id column holds chDB's own ids;
    every reference to the column is replaced by the id read back from the request's tag.
    """
    tokens = list(iter_tokens(text))
    if [token.text.upper() for token in tokens[:2]] != ["KILL", "QUERY"]:
        return text
    pieces, pos = [], 0
    for i, token in enumerate(tokens):
        is_column = token.kind in ("word", "quoted") and _unquote(token) == "query_id"
        if is_column and tokens[i - 1].text != ".":
            pieces += [text[pos : token.start], CLIENT_QUERY_ID_SQL]
            pos = token.end
    return "".join(pieces) + text[pos:]


def _set_names(top_level: list[Token]) -> tuple[str, ...]:
    """Names assigned by `SET a = ..., b = ...`."""
    names = []
    for i in range(1, len(top_level) - 1):
        if top_level[i + 1].text == "=" and (i == 1 or top_level[i - 1].text == ","):
            names.append(_unquote(top_level[i]))
    return tuple(names)


# --------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    password: str = ""
    readonly: int = 0


def load_users(path: str | None) -> dict[str, User]:
    """`{"name": {"password": "...", "readonly": 0|1|2}}`; without a file only `default`, no password."""
    if path is None:
        return {"default": User()}
    with open(path, encoding="utf-8") as file:
        raw = json.load(file)
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f"{path}: expected a JSON object mapping user names to settings")
    users = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict) or not set(spec) <= {"password", "readonly"}:
            raise ValueError(f"{path}: user {name!r} must be an object with 'password' and 'readonly'")
        password, readonly = spec.get("password", ""), spec.get("readonly", 0)
        if not isinstance(password, str) or type(readonly) is not int or readonly not in (0, 1, 2):
            raise ValueError(f"{path}: user {name!r} needs a string password and readonly 0, 1 or 2")
        users[name] = User(password, readonly)
    return users


def extract_credentials(request: web.Request) -> tuple[str, str]:
    """User and password from X-ClickHouse-User/Key, Basic auth or user/password params, like ClickHouse."""
    header_user = request.headers.get("X-ClickHouse-User", "")
    header_key = request.headers.get("X-ClickHouse-Key", "")
    authorization = request.headers.get("Authorization", "")
    in_params = "user" in request.query or "password" in request.query
    if header_user or header_key:
        if authorization or in_params:
            raise ClickHouseError.new(
                AUTHENTICATION_FAILED,
                "Invalid authentication: it is not allowed to use X-ClickHouse HTTP headers "
                "and other authentication methods simultaneously",
            )
        return header_user or "default", header_key
    if authorization:
        if in_params:
            raise ClickHouseError.new(
                AUTHENTICATION_FAILED,
                "Invalid authentication: it is not allowed to use Authorization HTTP header "
                "and authentication via parameters simultaneously",
            )
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise ClickHouseError.new(
                AUTHENTICATION_FAILED,
                f"Invalid authentication: '{scheme}' HTTP Authorization scheme is not supported",
            )
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ClickHouseError.new(
                AUTHENTICATION_FAILED, "Invalid authentication: malformed Basic credentials"
            ) from None
        user, _, password = decoded.partition(":")
        return user or "default", password
    return request.query.get("user") or "default", request.query.get("password", "")


def check_password(users: Mapping[str, User], name: str, password: str) -> User:
    user = users.get(name)
    expected = user.password if user is not None else ""
    # Constant-time comparison, done for unknown users too.
    matches = hmac.compare_digest(password.encode(), expected.encode())
    if user is None or not matches:
        raise ClickHouseError.new(
            AUTHENTICATION_FAILED,
            f"{name}: Authentication failed: password is incorrect, or there is no user with such name",
        )
    return user


# --------------------------------------------------------------------------
# Requests → engine jobs
# --------------------------------------------------------------------------

# Parameters ClickHouse's HTTP handler consumes itself; they never become settings.
NON_SETTING_PARAMS = frozenset({
    "query", "database", "default_format", "query_id", "user", "password", "quota_key",
    "compress", "decompress", "stacktrace", "buffer_size", "wait_end_of_query",
    "session_id", "session_timeout", "session_check", "client_protocol_version",
    "close_session", "role",
})
# Real settings that steer only the HTTP layer, or asynchronous inserts (not emulated:
# every insert is synchronous here). Accepted, never SET on the engine.
HTTP_LAYER_SETTINGS = frozenset({
    "enable_http_compression", "http_zlib_compression_level", "send_progress_in_http_headers",
    "http_headers_progress_interval_ms", "async_insert", "wait_for_async_insert",
})
# What a readonly=1 user may still pass: the settings @clickhouse/client sends on its own.
READONLY_SAFE_SETTINGS = HTTP_LAYER_SETTINGS | {
    "readonly", "date_time_input_format", "output_format_json_quote_64bit_integers",
}
READ_KEYWORDS = frozenset({"SELECT", "WITH", "SHOW", "DESC", "DESCRIBE", "EXISTS", "EXPLAIN"})
# chDB's Python-side pseudo formats, which would not give bytes back.
PYTHON_ONLY_FORMATS = frozenset({"debug", "dataframe", "datastore", "arrowtable"})
SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
QUERY_PARAM_PREFIX = "param_"


@dataclass
class QueryJob:
    """Everything an engine connection needs to run one request."""

    sql: str  # the statement tagged with its query_id; for inline INSERT data, see `insert`
    statement: Statement
    output_format: str
    query_id_comment: str = ""  # the tag in `sql`, kept out of error messages
    database: str = ""
    settings: list[tuple[str, str]] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    insert: InlineInsert | None = None
    is_kill_query: bool = False


@dataclass
class InlineInsert:
    """An INSERT with its data in the request, run as `<before> FROM INFILE '<file>' <after>`."""

    before_infile: str  # INSERT INTO t (columns)
    after_infile: str  # [SETTINGS …] FORMAT f, and the query_id tag
    data: bytes


def _is_true(value: str) -> bool:
    return value.strip().lower() in ("1", "true")


def _request_settings(params: Mapping[str, str], user: User) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Split URL params into settings to SET and `param_*` query parameters."""
    settings, query_params = [], {}
    for name, value in params.items():
        if not name or name in NON_SETTING_PARAMS:
            continue
        if name.startswith(QUERY_PARAM_PREFIX):
            query_params[name[len(QUERY_PARAM_PREFIX):]] = value
            continue
        if user.readonly == 1 and name not in READONLY_SAFE_SETTINGS:
            raise ClickHouseError.new(READONLY, f"Cannot modify '{name}' setting in readonly mode")
        if not SETTING_NAME.fullmatch(name):
            raise ClickHouseError.new(UNKNOWN_SETTING, f"Unknown setting '{name}'")
        if name not in HTTP_LAYER_SETTINGS and name != "readonly":
            settings.append((name, value))
    return settings, query_params


def _effective_readonly(method: str, params: Mapping[str, str], user: User) -> int:
    value = params.get("readonly", str(user.readonly)).strip()
    if not value.isdigit():
        raise ClickHouseError.new(BAD_ARGUMENTS, f"Cannot parse value '{value}' of setting 'readonly'")
    requested = int(value)
    if requested < user.readonly:
        raise ClickHouseError.new(READONLY, "Cannot modify 'readonly' setting in readonly mode")
    # Only reading queries are allowed over GET, as ClickHouse does with readonly=2.
    return max(requested, 0 if method == "POST" else 2)


def build_job(
    method: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    user_name: str,
    user: User,
    query_id: str,
) -> QueryJob:
    for flag in ("compress", "decompress"):
        if _is_true(params.get(flag, "0")):
            raise ClickHouseError.new(
                NOT_IMPLEMENTED,
                f"ClickHouse's native compression ({flag}=1) is not supported by this server; "
                "use enable_http_compression=1 or Content-Encoding: gzip",
            )
    settings, query_params = _request_settings(params, user)
    readonly = _effective_readonly(method, params, user)
    output_format = headers.get("X-ClickHouse-Format") or params.get("default_format") or "TabSeparated"
    if output_format.lower() in PYTHON_ONLY_FORMATS:
        raise ClickHouseError.new(UNKNOWN_FORMAT, f"Unknown format {output_format}")

    query = params.get("query", "").encode()
    raw = query + b"\n" + body if query and body else query or body
    text = raw.decode("latin-1")  # one character per byte, so offsets index `raw`
    statement = analyze_statement(text)
    if statement.is_empty:
        raise ClickHouseError.new(SYNTAX_ERROR, "Empty query")
    if statement.second_statement_at is not None:
        raise ClickHouseError.new(
            SYNTAX_ERROR,
            "Syntax error (Multi-statements are not allowed): "
            f"failed at position {statement.second_statement_at + 1} (;)",
        )
    if statement.file_clause == "INTO OUTFILE":
        raise ClickHouseError.new(INTO_OUTFILE_NOT_ALLOWED, "INTO OUTFILE is not allowed")
    if statement.file_clause == "FROM INFILE":
        raise ClickHouseError.new(UNKNOWN_TYPE_OF_QUERY, "Query has infile and was send directly to server")
    if readonly and statement.keyword not in READ_KEYWORDS:
        hint = (
            ". For queries over HTTP, method GET implies readonly. You should use method POST for modifying queries"
            if method != "POST" else ""
        )
        raise ClickHouseError.new(READONLY, f"{user_name}: Cannot execute query in readonly mode{hint}")

    is_kill_query = statement.keyword == "KILL"
    if is_kill_query:
        text = rewrite_kill_query(text)
        statement = analyze_statement(text)  # offsets into the rewritten text
    comment = query_id_comment(query_id)
    inline = statement.inline_data
    try:
        sql = (text[: inline.head_end] if inline else tag_statement(text, statement, comment)).encode("latin-1")
        sql_text = sql.decode("utf-8")
        insert = None
        if inline is not None:
            # FROM INFILE must precede SETTINGS; `sql` ends where FORMAT/VALUES began.
            split = inline.head_end if inline.settings_at is None else inline.settings_at
            format_clause = inline.format_clause.encode("latin-1").decode("utf-8")
            insert = InlineInsert(
                before_infile=sql[:split].decode("utf-8"),
                after_infile=f"{sql[split:].decode('utf-8')}{format_clause}\n{comment}",
                data=raw[inline.data_start :],
            )
    except UnicodeDecodeError as exc:
        raise ClickHouseError.new(BAD_ARGUMENTS, f"Query is not valid UTF-8 at byte {exc.start}") from None
    return QueryJob(
        sql=sql_text,
        statement=statement,
        output_format=output_format,
        query_id_comment=comment,
        database=headers.get("X-ClickHouse-Database") or params.get("database", ""),
        settings=settings,
        params=query_params,
        insert=insert,
        is_kill_query=is_kill_query,
    )


# --------------------------------------------------------------------------
# The engine: one chDB session, one thread
# --------------------------------------------------------------------------


@dataclass
class QueryOutcome:
    """A statement's output and the statistics chDB reports for it."""

    body: bytes = b""
    read_rows: int = 0
    read_bytes: int = 0
    written_rows: int = 0
    written_bytes: int = 0
    elapsed_s: float = 0.0

    def summary(self) -> str:
        """X-ClickHouse-Summary: ClickHouse sends every number as a string."""
        values = {
            "read_rows": self.read_rows,
            "read_bytes": self.read_bytes,
            "written_rows": self.written_rows,
            "written_bytes": self.written_bytes,
            "total_rows_to_read": self.read_rows,
            # chDB does not report how many rows a SELECT returned; inserts report their rows.
            "result_rows": self.written_rows,
            "result_bytes": len(self.body),
            "elapsed_ns": int(self.elapsed_s * 1e9),
        }
        return json.dumps({key: str(value) for key, value in values.items()}, separators=(",", ":"))


def quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


# How the engine ends errors in data read by FROM INFILE; the client sent no file.
FROM_INFILE_NOTE = ": While executing File: data for INSERT was parsed from file"


class EngineConnection:
    """One chDB connection, used by one request at a time.

    chDB keeps USE and SET per connection (verified: neither reaches another
    connection to the same data directory), so a request's database and settings
    are applied before its statement and undone after it on the same connection.
    """

    def __init__(self, data_dir: str, spool_dir: str) -> None:
        self._spool_dir = spool_dir  # where INSERT data waits for FROM INFILE
        self._connection = chdb.connect(data_dir)
        # chDB turns implicit_select on; clickhouse-server has it off.
        self._connection.query("SET implicit_select = 0", "TabSeparated")
        info = self._connection.query("SELECT version(), timezone(), currentDatabase()", "TabSeparated")
        self.version, self.timezone, self._home_database = info.bytes().decode().strip().split("\t")
        changed = self._connection.query("SELECT name, value FROM system.settings WHERE changed", "JSONEachRow")
        rows = (json.loads(line) for line in changed.bytes().splitlines())
        self._baseline = {row["name"]: row["value"] for row in rows}  # settings chDB itself starts with changed

    def close(self) -> None:
        self._connection.close()

    def run(self, job: QueryJob) -> QueryOutcome:
        applied: list[str] = []
        try:
            if job.database:
                self._connection.query(f"USE {quote_identifier(job.database)}", "TabSeparated")
            for name, value in job.settings:
                self._connection.query(f"SET {name} = {quote_string(value)}", "TabSeparated")
                applied.append(name)
            if job.insert is not None:
                return self._insert(job, job.insert)
            return self._execute(job)
        except ClickHouseError:
            raise
        except Exception as exc:  # chDB raises ChdbError or RuntimeError
            raise ClickHouseError.from_engine(exc, self._added_texts(job.query_id_comment)) from None
        finally:
            # Without a session_id, nothing a request sets outlives it in ClickHouse.
            for name in applied + list(job.statement.set_names):
                self._restore_setting(name)
            if job.database or job.statement.keyword == "USE":
                self._restore("USE " + quote_identifier(self._home_database))

    def _execute(self, job: QueryJob) -> QueryOutcome:
        if "readonly" in job.statement.set_names:
            # SET readonly would lock this connection for good; without a
            # session_id it would not outlive this request anyway.
            return QueryOutcome()
        result = self._connection.query(job.sql, job.output_format, params=job.params or None)
        return QueryOutcome(
            body=result.bytes(),
            read_rows=result.rows_read(),
            read_bytes=result.bytes_read(),
            written_rows=result.rows_written(),
            written_bytes=result.bytes_written(),
            elapsed_s=result.elapsed(),
        )

    def _insert(self, job: QueryJob, insert: InlineInsert) -> QueryOutcome:
        """INSERT data through a file and FROM INFILE, the engine's own way to take it whole.

        Not chDB's streaming insert API: its finish() reports success for blocks the
        engine then refused (too many partitions, a violated constraint, a failing
        materialized view), and nothing is stored. Nor the data inside the statement
        text: chDB fails on data that starts with a blank line (RowBinary rows can),
        and would run a statement following VALUES data.
        """
        with tempfile.NamedTemporaryFile(dir=self._spool_dir, prefix="insert-", delete=False) as spool:
            spool.write(insert.data)
        try:
            infile = f"FROM INFILE {quote_string(spool.name)} COMPRESSION 'none'"
            sql = f"{insert.before_infile} {infile} {insert.after_infile}"
            try:
                result = self._connection.query(sql, "TabSeparated", params=job.params or None)
            except Exception as exc:
                hidden = (f": (in file/uri {spool.name})", f"(in file/uri {spool.name})", FROM_INFILE_NOTE)
                raise ClickHouseError.from_engine(exc, hidden + self._added_texts(job.query_id_comment)) from None
        finally:
            os.remove(spool.name)
        return QueryOutcome(
            written_rows=result.rows_written(),
            written_bytes=result.bytes_written(),
            elapsed_s=result.elapsed(),
        )

    @staticmethod
    def _added_texts(comment: str) -> tuple[str, ...]:
        """What errors that quote the statement would show of the query_id tag."""
        return (f"\n{comment}\n", f"\n{comment}", comment)

    def _restore_setting(self, name: str) -> None:
        if not SETTING_NAME.fullmatch(name) or name == "readonly":
            return
        value = quote_string(self._baseline[name]) if name in self._baseline else "DEFAULT"
        self._restore(f"SET {name} = {value}")

    def _restore(self, sql: str) -> None:
        try:
            self._connection.query(sql, "TabSeparated")
        except Exception as exc:  # the request's answer stands; the leak is reported
            print(f"could not restore connection state with {sql!r}: {exc}", file=sys.stderr, flush=True)


class Engine:
    """A pool of chDB connections to one data directory, each on a thread of its own.

    chDB runs queries of different connections in parallel (one connection runs
    one at a time), so up to `max_concurrent` requests run at once; more wait for a
    free connection. One more connection is kept for KILL QUERY, so that a kill
    never waits behind the queries it is meant to stop.
    """

    def __init__(self, data_dir: str, max_concurrent: int) -> None:
        self._data_dir = data_dir
        self._max_concurrent = max_concurrent
        self._threads = ThreadPoolExecutor(max_workers=max_concurrent + 1, thread_name_prefix="chdb")
        self._idle: asyncio.Queue[EngineConnection] = asyncio.Queue()
        self._control: asyncio.Queue[EngineConnection] = asyncio.Queue()
        self._connections: list[EngineConnection] = []
        self._spool_dir = ""
        self.version = ""
        self.timezone = ""

    async def open(self) -> None:
        os.makedirs(self._data_dir, exist_ok=True)
        self._spool_dir = tempfile.mkdtemp(prefix="chdb-http-inserts-")
        loop = asyncio.get_running_loop()
        for _ in range(self._max_concurrent + 1):
            connection = await loop.run_in_executor(
                self._threads, EngineConnection, self._data_dir, self._spool_dir
            )
            self._connections.append(connection)
        *pooled, control = self._connections
        for connection in pooled:
            self._idle.put_nowait(connection)
        self._control.put_nowait(control)
        self.version, self.timezone = control.version, control.timezone

    async def run(self, job: QueryJob) -> QueryOutcome:
        free = self._control if job.is_kill_query else self._idle
        connection = await free.get()
        running = asyncio.get_running_loop().run_in_executor(self._threads, connection.run, job)

        def release(finished: asyncio.Future[QueryOutcome]) -> None:
            # Only once the engine call has returned, even if the request was abandoned.
            if not finished.cancelled():
                finished.exception()  # retrieved, so an abandoned failure is not logged as lost
            free.put_nowait(connection)

        running.add_done_callback(release)
        return await asyncio.shield(running)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for connection in self._connections:
            await loop.run_in_executor(self._threads, connection.close)
        self._threads.shutdown(wait=True)
        if self._spool_dir:
            shutil.rmtree(self._spool_dir, ignore_errors=True)


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

KEEP_ALIVE_TIMEOUT_S = 10


def content_type(output_format: str) -> str:
    name = output_format.lower()
    if name.startswith("json"):
        return "application/json; charset=UTF-8"
    if name.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if name.startswith("csv"):
        return f"text/csv; charset=UTF-8; header={'present' if 'withnames' in name else 'absent'}"
    if name in ("native", "parquet", "arrow", "arrowstream", "orc", "avro") or name.startswith("rowbinary"):
        return "application/octet-stream"
    return "text/plain; charset=UTF-8"


def response_encoding(params: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
    """gzip or deflate when the request enables HTTP compression and the client accepts it."""
    if not _is_true(params.get("enable_http_compression", "0")):
        return None
    accepted = {part.split(";")[0].strip().lower() for part in headers.get("Accept-Encoding", "").split(",")}
    return next((name for name in ("gzip", "deflate") if name in accepted), None)


def compress(payload: bytes, encoding: str, level: int) -> bytes:
    return gzip.compress(payload, compresslevel=level) if encoding == "gzip" else zlib.compress(payload, level)


@dataclass
class ServerState:
    engine: Engine
    users: dict[str, User]
    max_body_size: int
    display_name: str = field(default_factory=socket.gethostname)


STATE = web.AppKey("state", ServerState)


def _compression_level(params: Mapping[str, str]) -> int:
    value = params.get("http_zlib_compression_level", "3")
    return min(max(int(value), 1), 9) if value.isdigit() else 3


async def read_body(request: web.Request, max_body_size: int) -> bytes:
    """The request body; aiohttp has already undone a gzip or deflate Content-Encoding."""
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ClickHouseError.new(
            QUERY_IS_TOO_LARGE, f"Request body is larger than the server's limit of {max_body_size} bytes"
        ) from None
    except web.RequestPayloadError:
        encoding = request.headers.get("Content-Encoding", "")
        raise ClickHouseError.new(
            ZLIB_INFLATE_FAILED, f"Cannot decode the request body with Content-Encoding '{encoding}'"
        ) from None


async def handle_query(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    params = request.query
    if request.method in ("GET", "HEAD") and "query" not in params and not request.body_exists:
        return web.Response(text="Ok.\n")
    query_id = params.get("query_id") or request.headers.get("X-ClickHouse-Query-Id") or str(uuid.uuid4())
    headers = {
        "X-ClickHouse-Query-Id": query_id,
        "X-ClickHouse-Server-Display-Name": state.display_name,
        "Keep-Alive": f"timeout={KEEP_ALIVE_TIMEOUT_S}",
    }
    try:
        body = await read_body(request, state.max_body_size)
        user_name, password = extract_credentials(request)
        request["user"] = user_name
        user = check_password(state.users, user_name, password)
        job = build_job(request.method, params, request.headers, body, user_name, user, query_id)
        outcome = await state.engine.run(job)
    except ClickHouseError as err:
        status, payload = err.http_status, err.body(state.engine.version)
        headers["X-ClickHouse-Exception-Code"] = str(err.code)
        headers["Content-Type"] = "text/plain; charset=UTF-8"
    else:
        status, payload = 200, outcome.body
        output_format = job.statement.output_format or job.output_format
        headers["X-ClickHouse-Format"] = output_format
        headers["X-ClickHouse-Timezone"] = state.engine.timezone
        headers["X-ClickHouse-Summary"] = outcome.summary()
        headers["Content-Type"] = content_type(output_format)
    encoding = response_encoding(params, request.headers)
    if encoding:
        payload = await asyncio.to_thread(compress, payload, encoding, _compression_level(params))
        headers["Content-Encoding"] = encoding
    return web.Response(status=status, body=payload, headers=headers)


async def handle_ping(request: web.Request) -> web.StreamResponse:
    return web.Response(text="Ok.\n")


async def handle_unknown(request: web.Request) -> web.StreamResponse:
    return web.Response(status=404, text=f"There is no handle {request.path}\n\nUse / or /ping for health checks.\n")


@web.middleware
async def log_requests(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    """One JSON line per request on stdout. Never the query text or a password."""
    started = time.perf_counter()
    try:
        response = await handler(request)
    except Exception:
        traceback.print_exc()
        error = ClickHouseError.new(STD_EXCEPTION, "Internal error of the HTTP server, see its log")
        response = web.Response(
            status=500,
            body=error.body(request.app[STATE].engine.version),
            headers={"X-ClickHouse-Exception-Code": str(STD_EXCEPTION), "Content-Type": "text/plain; charset=UTF-8"},
        )
    exception_code = response.headers.get("X-ClickHouse-Exception-Code")
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "method": request.method,
        "path": request.path,
        "query_id": response.headers.get("X-ClickHouse-Query-Id"),
        "user": request.get("user"),
        "status": response.status,
        "exception_code": int(exception_code) if exception_code else None,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    print(json.dumps(record), flush=True)
    return response


def create_app(state: ServerState) -> web.Application:
    app = web.Application(client_max_size=state.max_body_size, middlewares=[log_requests])
    app[STATE] = state
    app.router.add_get("/ping", handle_ping)
    app.router.add_get("/", handle_query)
    app.router.add_route("POST", "/", handle_query)
    app.router.add_route("*", "/{tail:.*}", handle_unknown)
    return app


# --------------------------------------------------------------------------
# Process
# --------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="ClickHouse's HTTP interface on top of chDB.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123, help="0 picks a free port")
    parser.add_argument("--data-dir", required=True, help="where the database lives on disk")
    parser.add_argument("--users-file", help='JSON: {"name": {"password": "...", "readonly": 0}}')
    parser.add_argument("--tls-cert-file", help="PEM certificate (chain): serve HTTPS instead of HTTP")
    parser.add_argument("--tls-key-file", help="PEM private key of --tls-cert-file")
    parser.add_argument("--ready-file", help="written with the server's URL once it listens")
    parser.add_argument("--max-body-size", type=int, default=1 << 30, help="largest request body, bytes")
    parser.add_argument(
        "--max-concurrent",
        type=_positive_int,
        default=4,
        help="requests the engine runs at once (one chDB connection each); more wait for a free one",
    )
    parser.add_argument(
        "--shutdown-timeout", type=float, default=60.0, help="seconds to let running requests finish on SIGTERM"
    )
    args = parser.parse_args(argv)
    if bool(args.tls_cert_file) != bool(args.tls_key_file):
        parser.error("--tls-cert-file and --tls-key-file go together")
    return args


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def write_ready_file(path: str, url: str) -> None:
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as file:
        file.write(url + "\n")
    os.replace(partial, path)  # readers never see a half-written file


async def serve(args: argparse.Namespace, users: dict[str, User]) -> None:
    engine = Engine(args.data_dir, args.max_concurrent)
    try:
        await engine.open()
    except Exception as exc:  # chDB allows one process per data directory
        raise SystemExit(f"cannot open the database in {args.data_dir} (is another server using it?): {exc}") from None
    state = ServerState(engine=engine, users=users, max_body_size=args.max_body_size)
    runner = web.AppRunner(
        create_app(state),
        access_log=None,
        keepalive_timeout=KEEP_ALIVE_TIMEOUT_S,
        shutdown_timeout=args.shutdown_timeout,
        # Query parameters travel in the URL: allow what clickhouse-server allows (http_max_uri_size).
        max_line_size=MAX_URI_SIZE,
        max_field_size=MAX_URI_SIZE,
    )
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        listener = socket.create_server((args.host, args.port))
        tls = None
        if args.tls_cert_file:
            # HTTPS, as clickhouse-server's https_port: TLS 1.2 or later, the certificate given.
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.minimum_version = ssl.TLSVersion.TLSv1_2
            tls.load_cert_chain(args.tls_cert_file, args.tls_key_file)
        await web.SockSite(runner, listener, ssl_context=tls).start()
        host, port = listener.getsockname()[:2]
        url = f"{'https' if tls else 'http'}://{host}:{port}"
        print(f"listening on {url}", flush=True)
        if args.ready_file:
            write_ready_file(args.ready_file, url)
        await stop.wait()
    finally:
        # Stop accepting, let running requests finish, then close the engine.
        await runner.cleanup()
        await engine.close()
        if args.ready_file and os.path.exists(args.ready_file):
            os.remove(args.ready_file)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        users = load_users(args.users_file)
    except (OSError, ValueError) as exc:
        print(f"cannot load users: {exc}", file=sys.stderr)
        return 2
    asyncio.run(serve(args, users))
    return 0


if __name__ == "__main__":
    sys.exit(main())
