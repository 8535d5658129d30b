"""Batch results into Redis, one hash per key with a time to live: the user-profile pattern.

The analytics team scores every customer at night; the web app reads ``HGETALL churn:<customer_id>`` on the
request path and finds the decision, the reasons and the bundle version that made them, with no scoring code
and no database query of its own. A hash per key (rather than one JSON string) lets the app read one field
(``HGET churn:42 decision``) and lets Redis store small hashes compactly (listpack encoding).

Why each hash is replaced (DEL, HSET, EXPIRE) rather than updated: a field that is null tonight (no reason
codes, a refused row) must not keep yesterday's value. The three commands of a batch of keys go in one
pipeline inside MULTI/EXEC, so a reader sees a key's old hash or its new one, never the gap between DEL and
HSET, and the network round trips are one per ``pipeline_rows`` keys, not three per key.

The TTL is what keeps the profile honest: a customer the nightly job stops scoring (deleted, churned) drops out
of Redis after ``ttl`` seconds instead of carrying a stale decision forever. Set it a little above the job's
period (a nightly job: two days) so one failed night does not empty the cache.

Values are text, as Redis stores them: numbers in Python's shortest round-trip form (``repr``), booleans as
``true``/``false``, lists (reason codes) joined by ``;`` (as in CSV output: ``C01_LAPSING;C03_DETRACTOR``,
empty when no code applies); a null leaves the field out of the hash.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

LIST_SEPARATOR = ";"  # reason codes are identifiers (the gate refuses ';' in them), so the join is lossless
DEFAULT_PIPELINE_ROWS = 1000  # keys per MULTI/EXEC round trip: ~3000 commands, a few hundred KB at most


class RedisSinkError(Exception):
    """The Redis target is unusable (bad URL, unreachable server, no key column, a bad TTL): exit 2."""


@dataclass(frozen=True)
class RedisTarget:
    """Where and how the hashes go: ``url`` (redis://HOST:PORT/DB), the key column, the key prefix, the TTL."""

    url: str
    key: str                    # the column whose value names the hash (customer_id)
    ttl: int                    # seconds each hash lives after this run wrote it
    prefix: str = ""            # hash name = f"{prefix}:{key value}"; empty: the model's name
    pipeline_rows: int = DEFAULT_PIPELINE_ROWS

    def __post_init__(self) -> None:
        scheme = urlsplit(self.url).scheme
        if scheme not in ("redis", "rediss", "unix"):
            raise RedisSinkError(f"--to {self.url!r}: not a Redis URL; write redis://HOST:PORT/DB")
        if self.ttl <= 0:
            raise RedisSinkError(f"--ttl must be a positive number of seconds, got {self.ttl}: a hash without "
                                 "a TTL would keep a stale decision forever once its key stops being scored")
        if self.pipeline_rows <= 0:
            raise RedisSinkError(f"pipeline_rows must be > 0, got {self.pipeline_rows}")


@dataclass(frozen=True)
class RedisWritten:
    """What a run wrote: hashes written, rows skipped because their key was null, round trips made."""

    keys: int
    skipped: int
    pipelines: int


def connect(url: str) -> Any:
    """A redis-py client for ``url``, checked with a PING so a wrong host fails before any row is scored."""
    from validator.extras import require

    require("redis", "redis", feature="weights score --to redis://")  # MissingExtra names the extra: exit 2
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=10, socket_timeout=60)
        client.ping()
    except (ValueError, redis.RedisError) as exc:
        raise RedisSinkError(f"cannot reach Redis at {url}: {exc}") from None
    return client


def text(value: Any) -> str | None:
    """One result value as the text stored in a hash field (None: leave the field out)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return None if math.isnan(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join("" if v is None else str(v) for v in value)
    return str(value)


class RedisSink:
    """Writes result batches as hashes; ``write(batch)`` per batch, then ``result()``.

    The key column is part of the batch; every other column becomes a field. Opened by :func:`open_sink`
    (which checks the server and the key column first), so a mistake surfaces before the scoring starts.
    """

    def __init__(self, client: Any, target: RedisTarget, prefix: str) -> None:
        self.client = client
        self.target = target
        self.prefix = prefix
        self.keys = 0
        self.skipped = 0
        self.pipelines = 0

    def write(self, batch: pa.RecordBatch) -> None:
        import redis

        names = batch.schema.names
        if self.target.key not in names:
            raise RedisSinkError(f"the key column {self.target.key!r} is not among the results' columns: "
                                 f"{', '.join(names)}")
        keys = batch.column(self.target.key).to_pylist()
        fields = [(name, batch.column(name).to_pylist()) for name in names if name != self.target.key]
        step = self.target.pipeline_rows
        try:
            for start in range(0, len(keys), step):
                pipe = self.client.pipeline(transaction=True)
                queued = 0
                for i in range(start, min(start + step, len(keys))):
                    key = keys[i]
                    if key is None:
                        self.skipped += 1
                        continue
                    mapping = {}
                    for name, values in fields:
                        shown = text(values[i])
                        if shown is not None:
                            mapping[name] = shown
                    hash_name = f"{self.prefix}:{text(key)}"
                    pipe.delete(hash_name)
                    if mapping:
                        pipe.hset(hash_name, mapping=mapping)
                        pipe.expire(hash_name, self.target.ttl)
                    queued += 1
                if queued:
                    pipe.execute()
                    self.pipelines += 1
                    self.keys += queued
        except redis.RedisError as exc:
            raise RedisSinkError(f"writing to Redis at {self.target.url} failed after {self.keys} keys: "
                                 f"{exc}") from None

    def result(self) -> RedisWritten:
        return RedisWritten(self.keys, self.skipped, self.pipelines)


def open_sink(target: RedisTarget, columns: Sequence[str], default_prefix: str) -> RedisSink:
    """Connect (PING) and check that the key column will be in the results; the prefix defaults to the model."""
    if target.key not in columns:
        raise RedisSinkError(f"--key {target.key!r} is not a column of the input: its columns are "
                             f"{', '.join(columns)}")
    return RedisSink(connect(target.url), target, target.prefix or default_prefix)


def write_batches(target: RedisTarget, batches: Iterable[pa.RecordBatch], default_prefix: str) -> RedisWritten:
    """Every batch into Redis (for callers that already hold result batches, e.g. a Spark driver loop)."""
    sink: RedisSink | None = None
    for batch in batches:
        if sink is None:
            sink = open_sink(target, batch.schema.names, default_prefix)
        sink.write(batch)
    return sink.result() if sink is not None else RedisWritten(0, 0, 0)
