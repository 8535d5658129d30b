"""A table model end to end, as an analyst and an app meet it: the real `weights` CLI in subprocesses on a real
git repository (validate with positions in the CSV, golden cases, diff, check with its guardrails, publish),
then a WeightsClient reading the published bundle over HTTP on 127.0.0.1 and looking rows up.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_helpers import analyst_repo, git, run_weights
from publish_helpers import served

from validator.runtime import WeightsClient

PROJECT = Path(__file__).resolve().parents[1]
CSV = "weights/category_boost.csv"


def weights(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return run_weights(cwd, *args)


@pytest.fixture
def table_repo(tmp_path: Path) -> Path:
    return analyst_repo(tmp_path / "weights-repo", branch="analytics/boosts", ignore_published=True)


def rewrite_boosts(root: Path, factor: float, every: int) -> None:
    """Multiply the boost of every ``every``-th category (all countries) by ``factor``, kept in range."""
    path = root / CSV
    lines = path.read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        category, country, boost, slots = line.split(",")
        if int(category) % every == 0:
            boost = f"{min(max(float(boost) * factor, 0.5), 3.0):.2f}"
        out.append(f"{category},{country},{boost},{slots}")
    path.write_text("\n".join(out) + "\n")


def line_of(root: Path, row_text: str) -> int:
    text = (root / CSV).read_text()
    return text[:text.index(f"\n{row_text}\n")].count("\n") + 2


def test_validate_and_golden_cases_pass_on_the_project_table(table_repo):
    ran = weights(table_repo, "validate")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    ran = weights(table_repo, "test", "category_boost")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "6 case(s) passed" in ran.stdout


def test_a_broken_cell_fails_validate_at_its_line_and_column(table_repo):
    line = line_of(table_repo, "17,DE,0.87,0")
    path = table_repo / CSV
    path.write_text(path.read_text().replace("\n17,DE,0.87,0\n", "\n17,DE,8.7,0\n"))
    ran = weights(table_repo, "validate")
    assert ran.returncode == 1
    assert f"{CSV}:{line}:3: error table.range: row {line - 1}: boost is 8.7, above the header's max 3" in ran.stdout
    assert "Traceback" not in ran.stdout + ran.stderr


def test_diff_and_check_of_a_small_data_change(table_repo):
    rewrite_boosts(table_repo, 1.1, every=97)
    git(table_repo, "commit", "-q", "-am", "nudge some boosts")
    ran = weights(table_repo, "diff", "--base", "main")
    assert ran.returncode == 0, ran.stderr
    assert "category_boost (table, changed)" in ran.stdout
    assert "rows: 50,000 rows -> 50,000 rows: 0 added, 0 removed," in ran.stdout
    assert ".boost: " in ran.stdout and len(ran.stdout.splitlines()) < 40  # rows by key, capped: no text diff
    ran = weights(table_repo, "check", "--base", "main")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "of requests get different values" in ran.stdout
    assert "max_traffic_changed_share" in ran.stdout


def test_check_fails_when_a_bulk_change_moves_too_much_traffic(table_repo):
    rewrite_boosts(table_repo, 2.0, every=1)
    git(table_repo, "commit", "-q", "-am", "double every boost")
    ran = weights(table_repo, "check", "--base", "main")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "guardrail.max_traffic_changed_share" in ran.stdout or "max_traffic_changed_share" in ran.stdout
    assert "BREACHED" in ran.stdout


def test_published_table_is_looked_up_by_a_client(table_repo, tmp_path):
    git(table_repo, "checkout", "-q", "main")
    ran = weights(table_repo, "publish", "--root", str(table_repo))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    root = (table_repo / ".weights" / "dev-keys" / "root.json").read_bytes()
    with served(table_repo / ".weights" / "published") as server, \
            WeightsClient(server.url, root, tmp_path / "cache", interval=0.05) as client:
        assert client.wait_ready(30)
        model = client.model("category_boost")
        hit = model.lookup({"category_id": 17, "country": "DE"})
        assert hit.found and hit.values == {"boost": 0.87, "pinned_slots": 0}
        assert hit.version == client.version
        miss = model.lookup({"category_id": 7999, "country": "DE"})
        assert not miss.found and miss.values == {"boost": 1.0, "pinned_slots": 0}
