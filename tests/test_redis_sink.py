"""``weights score ... --to redis://``: one hash per key with a TTL, against a real redis-server on 127.0.0.1.

The server is the Debian package's binary started on a free port with persistence off; without it the tests
skip on a developer's machine and fail on CI (tests/ci_env.py), where .ci/run installs it.
"""
from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis
from ci_env import tool_missing

from validator.data.batch import score_model
from validator.data.model_source import from_repository
from validator.data.redis_sink import RedisSinkError, RedisTarget

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT / "tests" / "data"
TOLERANCE = 0.0  # the hash holds repr(float): the very same double as the Parquet output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of our own on 127.0.0.1 (no persistence); its URL without the database number."""
    binary = shutil.which("redis-server")
    if binary is None:
        tool_missing("redis-server is not installed (apt-get install -y redis-server)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 30
    try:
        while True:  # wait until it answers (a readiness poll, not a timed assertion)
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {port}")
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}"
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=30)


def weights(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    env.update({"NO_COLOR": "1", "COLUMNS": "200"})
    return subprocess.run([sys.executable, "-m", "validator", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def connect(url: str, db: int) -> "redis.Redis":
    client = redis.Redis.from_url(f"{url}/{db}", decode_responses=True)
    client.flushdb()
    return client


def test_each_customer_becomes_a_hash_with_the_results_and_a_ttl(server: str, repo: Path, tmp_path: Path) -> None:
    client = connect(server, 3)
    out = tmp_path / "coupons.parquet"
    ran = weights("score", "churn_coupon", "--input", str(DATA / "churn_customers.csv"), "--output", str(out),
                  "--to", f"{server}/3", "--key", "customer_id", "--ttl", "172800", "--batch-rows", "5000", cwd=repo)
    assert ran.returncode == 0, ran.stderr
    assert f"-> {out} and 16000 Redis hashes at {server}/3" in ran.stdout
    assert client.dbsize() == 16000
    table = pq.read_table(out).to_pylist()
    pipe = client.pipeline(transaction=False)
    for row in table:
        pipe.hgetall(f"churn_coupon:{row['customer_id']}")
        pipe.ttl(f"churn_coupon:{row['customer_id']}")
    answers = pipe.execute()
    for row, stored, ttl in zip(table, answers[::2], answers[1::2], strict=True):
        assert 0 < ttl <= 172800
        assert stored["decision"] == row["decision"] and stored["version"] == "worktree"
        assert stored["refused"] == "false"
        assert math.isclose(float(stored["score"]), row["score"], rel_tol=0, abs_tol=TOLERANCE)
        assert stored["reasons"] == ";".join(row["reasons"])
        assert "customer_id" not in stored  # the key names the hash; it is not repeated inside


def test_a_rescore_replaces_each_hash_whole_and_renews_its_ttl(server: str, repo: Path) -> None:
    client = connect(server, 4)
    client.hset("crm:c000000", mapping={"decision": "coupon", "stale_field": "from an older model"})
    client.expire("crm:c000000", 5)
    ran = weights("score", "churn_coupon", "--input", str(DATA / "churn_customers.csv"), "--to", f"{server}/4",
                  "--key", "customer_id", "--ttl", "3600", "--prefix", "crm", cwd=repo)
    assert ran.returncode == 0, ran.stderr
    stored = client.hgetall("crm:c000000")
    assert set(stored) == {"score", "decision", "reasons", "refused", "version"}
    assert stored["decision"] == "no_coupon"
    assert client.ttl("crm:c000000") > 5
    assert client.dbsize() == 16000


def test_rows_without_a_key_are_skipped_and_counted(server: str, repo: Path, tmp_path: Path) -> None:
    client = connect(server, 5)
    table = pq.read_table(DATA / "fraud_orders.parquet").slice(0, 1000)
    ids = table.column("order_id").to_pylist()
    ids[10] = ids[20] = None
    path = tmp_path / "orders.parquet"
    pq.write_table(table.set_column(table.column_names.index("order_id"), "order_id",
                                    pa.array(ids, table.schema.field("order_id").type)), path)
    model = from_repository(repo, "fraud_risk")
    result = score_model(model, path, None, batch_rows=300,
                         redis=RedisTarget(f"{server}/5", "order_id", 600, pipeline_rows=128))
    assert result.redis is not None
    assert (result.redis.keys, result.redis.skipped) == (998, 2)
    assert result.redis.pipelines >= 8  # 998 keys in pipelines of at most 128
    assert client.dbsize() == 998


def test_an_unreachable_redis_is_exit_2_before_any_row_is_scored(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "coupons.parquet"
    ran = weights("score", "churn_coupon", "--input", str(DATA / "churn_customers.csv"), "--output", str(out),
                  "--to", f"redis://127.0.0.1:{free_port()}/0", "--key", "customer_id", "--ttl", "60", cwd=repo)
    assert ran.returncode == 2
    assert "cannot reach Redis at redis://127.0.0.1:" in ran.stderr and "Traceback" not in ran.stderr
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--to", "http://127.0.0.1/0", "--key", "customer_id", "--ttl", "60"], "not a Redis URL"),
    (["--to", "redis://127.0.0.1:6379/0", "--key", "customer_id", "--ttl", "0"], "--ttl must be a positive"),
    (["--to", "redis://127.0.0.1:6379/0", "--key", "customer", "--ttl", "60"], "no column 'customer'"),
])
def test_a_bad_redis_target_is_exit_2(repo: Path, args: list[str], message: str) -> None:
    ran = weights("score", "churn_coupon", "--input", str(DATA / "churn_customers.csv"), *args, cwd=repo)
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert message in ran.stderr and "Traceback" not in ran.stderr


def test_the_target_refuses_a_ttl_that_never_expires() -> None:
    with pytest.raises(RedisSinkError, match="stale decision forever"):
        RedisTarget("redis://127.0.0.1:6379/0", "customer_id", -1)
