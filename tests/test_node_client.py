"""examples/node/score.mjs, run with the real ``node`` against a live ``weights agent`` process: the order's
decision and the ranking it prints are the agent's, the version is the published one, and the refused request
it sends comes back as the problem naming model and input. Without node this skips (fails under CI).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
from agent_helpers import WAIT, agent_for
from ci_env import tool_missing
from publish_helpers import PROJECT
from runtime_helpers import Site, document

SCRIPT = PROJECT / "examples" / "node" / "score.mjs"
ORDER_IN_SCRIPT = {
    "order_amount": 80.0, "account_age_days": 400, "country_mismatch": False, "payment_method": "card",
    "email_domain_age_days": 3000, "orders_last_24h": 1, "shipping_to_billing_distance_km": 2.0,
    "device_seen_before": True,
}


def node() -> str:
    path = shutil.which("node")
    if path is None:
        tool_missing("node is not installed (Node 20+: apt-get install nodejs)")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=WAIT).stdout  # type: ignore[list-item]
    major = int(re.match(r"v(\d+)", out).group(1))  # type: ignore[union-attr]
    if major < 20:
        tool_missing(f"node {out.strip()} has no stable built-in fetch; Node 20+ is needed")
    return path  # type: ignore[return-value]


def test_node_client_scores_and_ranks_through_the_agent(tmp_path: Path) -> None:
    node_path = node()
    site = Site(tmp_path / "site")
    version = site.publish(document(1))
    with agent_for(site, tmp_path) as url:
        ran = subprocess.run([node_path, str(SCRIPT)], capture_output=True, text=True, timeout=WAIT,
                             env={**os.environ, "AGENT_URL": url, "READY_TIMEOUT_MS": str(int(WAIT * 1000))})
        assert ran.returncode == 0, ran.stderr
        expected_score = httpx.post(url + "v1/models/fraud_risk/score", json=ORDER_IN_SCRIPT, timeout=60).json()
    lines = ran.stdout.splitlines()
    assert len(lines) == 3, ran.stdout
    score = re.fullmatch(r"fraud_risk: (\w+) \(score ([\d.]+), reasons: (.+)\) version (\S+)", lines[0])
    assert score, lines[0]
    assert score.group(1) == expected_score["decision"] and score.group(4) == str(version)
    assert abs(float(score.group(2)) - expected_score["value"]) <= 5e-5  # printed with 4 decimals
    ranking = re.fullmatch(r"search_ranking: (.+) version (\S+)", lines[1])
    assert ranking and ranking.group(2) == str(version), lines[1]
    ids = ranking.group(1).split(", ")
    assert sorted(ids) == ["SKU-1001", "SKU-1002", "SKU-2001"]
    assert ids.index("SKU-1001") < ids.index("SKU-1002") and ids.index("SKU-1001") < ids.index("SKU-2001")
    assert lines[2] == "refused: 422 urn:weights:problem:invalid-input model=fraud_risk input=order_amount"


def test_node_client_says_when_the_agent_is_not_there(tmp_path: Path) -> None:
    node_path = node()
    ran = subprocess.run([node_path, str(SCRIPT)], capture_output=True, text=True, timeout=WAIT,
                         env={**os.environ, "AGENT_URL": "http://127.0.0.1:9/", "READY_TIMEOUT_MS": "200"})
    assert ran.returncode == 1 and "is not ready after 200 ms" in ran.stderr
