"""``validator.data.update``: a bandit's counts from events, through the library API the CLI wraps.

Each test works on a copy of this project's weights with the sample events (tests/update_helpers.py), writes
event files in the shapes analysts export, and checks the file that results: only the counts (and a CTR
comment that stated them) change, it passes the gate, and bad data leaves it untouched with a message naming
the column, the value or the arm.
"""
from __future__ import annotations

import difflib
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from update_helpers import (
    ARMS,
    EVENTS,
    FILE_COUNTS,
    MODEL,
    PROJECT,
    make_repo,
    posterior_lines,
    write_events,
    write_table,
)

from validator.api import validate_paths
from validator.data.update import (
    Counts,
    GateRefused,
    Sql,
    UpdateError,
    _rewrite_ctr,
    count_events,
    find_model,
    updatable_models,
    update_all,
    update_bandit,
)

NEW = {"hero_spring_sale": (530, 11470), "hero_free_shipping": (610, 11390),
       "hero_new_arrivals": (300, 9700), "hero_loyalty_points": (250, 5750)}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def changed_lines(old: str, new: str) -> list[tuple[str, str]]:
    """(old, new) line pairs that differ; the texts must have the same number of lines."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    assert len(old_lines) == len(new_lines)
    return [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]


def test_the_sample_events_are_a_no_op_byte_for_byte(root: Path) -> None:
    before = (root / MODEL).read_bytes()
    result = update_bandit(root, "homepage_hero")
    assert not result.changed and not result.written
    assert (root / MODEL).read_bytes() == before
    assert result.source == EVENTS and result.mode == "total"
    assert {a.arm: (a.new.successes, a.new.failures) for a in result.arms} == FILE_COUNTS
    assert result.no_events == ()
    assert result.holdout is not None and result.holdout.variant == "hero_control"
    assert result.holdout.events == Counts(101, 2031)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_totals_replace_the_counts_and_only_those_lines_change(root: Path, suffix: str) -> None:
    source = write_events(root / f"events{suffix}", NEW)
    old = (root / MODEL).read_text(encoding="utf-8")
    result = update_bandit(root, "homepage_hero", source)
    new = (root / MODEL).read_text(encoding="utf-8")
    assert result.written and result.changed and new == result.new_text
    assert changed_lines(old, new) == list(zip(posterior_lines(old), posterior_lines(new), strict=True))
    assert posterior_lines(new) == [
        "    posterior: {successes: 530, failures: 11470}    # 4.4% CTR over 12000 views",
        "    posterior: {successes: 610, failures: 11390}    # 5.1% CTR over 12000 views",
        "    posterior: {successes: 300, failures: 9700}     # 3.0% CTR over 10000 views",
        "    posterior: {successes: 250, failures: 5750}     # 4.2% CTR over 6000 views",
    ]
    assert result.comments == 4
    assert [(a.arm, a.old, a.new) for a in result.arms] == [
        (arm, Counts(*FILE_COUNTS[arm]), Counts(*NEW[arm])) for arm in ARMS]
    assert validate_paths(root).ok


def test_add_adds_a_days_events_from_a_sql_query(root: Path) -> None:
    day = pq.read_table(root / EVENTS).filter(pc.field("day") == pc.scalar(pq.read_table(root / EVENTS)["day"][-1]))
    expected = {}
    for arm in ARMS:
        rows = day.filter(pc.field("arm") == arm)["success"].to_pylist()
        won, lost = FILE_COUNTS[arm]
        expected[arm] = (won + sum(rows), lost + len(rows) - sum(rows))
    query = f"SELECT arm, success FROM read_parquet('{EVENTS}') WHERE day = DATE '2026-06-10'"
    result = update_bandit(root, "homepage_hero", Sql(query), add=True)
    assert result.mode == "add"
    assert {a.arm: (a.new.successes, a.new.failures) for a in result.arms} == expected
    assert all(a.events.views > 0 for a in result.arms)
    assert validate_paths(root).ok


def test_arms_without_events_keep_their_counts_and_are_listed(root: Path) -> None:
    source = write_events(root / "events.parquet", {"hero_spring_sale": (50, 950)})
    old = (root / MODEL).read_text(encoding="utf-8")
    result = update_bandit(root, "homepage_hero", source)
    assert result.no_events == ("hero_free_shipping", "hero_new_arrivals", "hero_loyalty_points")
    assert [a.arm for a in result.arms] == ["hero_spring_sale"]
    assert result.decreased == ("hero_spring_sale",)  # totals went down: reported, not refused
    lines = changed_lines(old, result.new_text)
    assert lines == [("    posterior: {successes: 412, failures: 9588}     # 4.1% CTR over 10000 views",
                      "    posterior: {successes: 50, failures: 950}       # 5.0% CTR over 1000 views")]


def test_add_with_no_events_for_an_arm_keeps_it(root: Path) -> None:
    source = write_events(root / "events.csv", {"hero_loyalty_points": (4, 96)})
    result = update_bandit(root, "homepage_hero", source, add=True)
    assert [(a.arm, a.new) for a in result.arms] == [("hero_loyalty_points", Counts(100, 2500))]
    assert result.decreased == ()
    assert "posterior: {successes: 100, failures: 2500}     # 3.8% CTR over 2600 views" in result.new_text
    assert "posterior: {successes: 412, failures: 9588}     # 4.1% CTR over 10000 views" in result.new_text


def test_an_unknown_arm_is_named_with_a_suggestion_and_nothing_is_written(root: Path) -> None:
    before = (root / MODEL).read_bytes()
    source = write_events(root / "events.parquet", {"hero_spring_sale": (1, 9), "hero_spring_sael": (1, 1),
                                                    "hero_winter": (0, 3)})
    with pytest.raises(UpdateError) as error:
        update_bandit(root, "homepage_hero", source)
    message = str(error.value)
    assert "'hero_spring_sael' (did you mean 'hero_spring_sale'?)" in message
    assert "'hero_winter'" in message and "nothing was written" in message
    assert (root / MODEL).read_bytes() == before


def test_holdout_events_are_counted_not_written_and_not_an_error(root: Path) -> None:
    source = write_events(root / "events.parquet", {**NEW, "hero_control": (3, 97)})
    result = update_bandit(root, "homepage_hero", source)
    assert result.holdout is not None and result.holdout.events == Counts(3, 97)
    assert "hero_control" not in [a.arm for a in result.arms]
    assert "holdout: {variant: hero_control, share: 0.05}" in result.new_text


def test_integer_zero_one_successes_are_accepted(root: Path) -> None:
    arms = ["hero_spring_sale"] * 4 + ["hero_free_shipping"] * 2
    source = write_table(root / "events.csv", {"arm": arms, "clicked": [1, 0, 0, 1, 0, 0]})
    result = update_bandit(root, "homepage_hero", source, success_column="clicked", add=True)
    assert {a.arm: a.events for a in result.arms} == {"hero_spring_sale": Counts(2, 2),
                                                      "hero_free_shipping": Counts(0, 2)}


@pytest.mark.parametrize(("values", "shown"), [
    (["yes", "no"], "'yes'"),
    ([0.0, 1.0], "0.0"),
])
def test_a_success_column_that_is_not_boolean_or_0_1_is_refused(root: Path, values: list, shown: str) -> None:
    source = write_table(root / "events.parquet", {"arm": ["hero_spring_sale"] * 2, "success": values})
    with pytest.raises(UpdateError) as error:
        update_bandit(root, "homepage_hero", source)
    message = str(error.value)
    assert "column 'success'" in message and f"(e.g. {shown})" in message and "boolean" in message


def test_an_integer_success_other_than_0_1_is_refused_with_the_value(root: Path) -> None:
    source = write_table(root / "events.parquet", {"arm": ["hero_spring_sale"] * 3, "success": [1, 2, 2]})
    with pytest.raises(UpdateError, match=r"column 'success' holds 2 \(2 events other than 0 or 1\)"):
        update_bandit(root, "homepage_hero", source)


def test_an_arm_column_that_is_not_text_is_refused(root: Path) -> None:
    source = write_table(root / "events.parquet", {"arm": [1, 2], "success": [True, False]})
    with pytest.raises(UpdateError, match=r"column 'arm' is BIGINT, but arm ids are text"):
        update_bandit(root, "homepage_hero", source)


def test_null_arms_and_null_successes_are_refused_with_their_count(root: Path) -> None:
    source = write_table(root / "a.parquet", {"arm": ["hero_spring_sale", None, None], "success": [True, False, True]})
    with pytest.raises(UpdateError, match=r"2 events have no arm \(null in column 'arm'\)"):
        update_bandit(root, "homepage_hero", source)
    source = write_table(root / "b.parquet", {"arm": ["hero_spring_sale", "hero_new_arrivals"], "success": [None, True]})
    with pytest.raises(UpdateError, match=r"1 event has a null 'success' \(e.g. for arm 'hero_spring_sale'\)"):
        update_bandit(root, "homepage_hero", source)


def test_a_missing_column_lists_the_columns(root: Path) -> None:
    source = write_table(root / "events.parquet", {"variant": ["hero_spring_sale"], "success": [True]})
    with pytest.raises(UpdateError) as error:
        update_bandit(root, "homepage_hero", source)
    assert "events.parquet has no column 'arm'; its columns: variant, success" in str(error.value)
    assert "--arm-column" in str(error.value)
    result = update_bandit(root, "homepage_hero", source, arm_column="variant", add=True)
    assert result.arms[0].events == Counts(1, 0)


def test_a_new_text_the_gate_refuses_is_not_written(root: Path) -> None:
    path = root / MODEL
    broken = path.read_text(encoding="utf-8").replace("prior: {alpha: 2, beta: 38}", "prior: {alpha: 0, beta: 38}", 1)
    path.write_text(broken, encoding="utf-8")
    source = write_events(root / "events.parquet", NEW)
    with pytest.raises(GateRefused) as error:
        update_bandit(root, "homepage_hero", source)
    assert [f.rule for f in error.value.findings if f.severity.value == "error"] == ["bandit.priors-proper"]
    assert "successes: 530" in error.value.new_text
    assert path.read_text(encoding="utf-8") == broken


def test_write_false_computes_everything_and_writes_nothing(root: Path) -> None:
    before = (root / MODEL).read_bytes()
    result = update_bandit(root, "homepage_hero", write_events(root / "events.parquet", NEW), write=False)
    assert result.changed and not result.written
    assert (root / MODEL).read_bytes() == before


def test_an_arm_without_a_posterior_gets_one_after_its_prior(root: Path) -> None:
    path = root / MODEL
    text = path.read_text(encoding="utf-8")
    line = "    posterior: {successes: 96, failures: 2404}      # 3.8% CTR over 2500 views\n"
    path.write_text(text.replace(line, ""), encoding="utf-8")
    result = update_bandit(root, "homepage_hero", write_events(root / "e.parquet", {"hero_loyalty_points": (5, 95)}),
                           add=True)
    assert result.arms[0].old is None and result.arms[0].new == Counts(5, 95)
    assert ("    prior: {alpha: 2, beta: 38}\n    posterior: {successes: 5, failures: 95}\n    floor: 0.05\n"
            in result.new_text)
    assert validate_paths(root).ok


@pytest.mark.parametrize(("comment", "old", "new", "expected"), [
    ("# 4.1% CTR over 10000 views\n", (412, 9588), (530, 11470), "# 4.4% CTR over 12000 views\n"),
    ("# 5.1% CTR over 10000 views\n", (505, 9495), (5, 95), "# 5.0% CTR over 100 views\n"),   # 5.05 stated as 5.1
    ("# 4% CTR over 10000 views\n", (412, 9588), (125, 875), "# 13% CTR over 1000 views\n"),    # 12.5 rounds up
    ("# 4.12% CTR over 10000 views  \n# next\n", (412, 9588), (1, 2), "# 33.33% CTR over 3 views  \n# next\n"),
])
def test_a_ctr_comment_stating_the_old_counts_is_restated(comment, old, new, expected) -> None:
    assert _rewrite_ctr(comment, Counts(*old), Counts(*new)) == expected


@pytest.mark.parametrize("comment", [
    "# 9.9% CTR over 10000 views\n",      # not the old rate: someone's own note
    "# 4.1% CTR over 9999 views\n",       # not the old views
    "# clicks since the spring launch\n",
    "# 4.1% CTR over 10000 views, campaign paused\n",
])
def test_other_comments_are_left_alone(comment: str) -> None:
    assert _rewrite_ctr(comment, Counts(412, 9588), Counts(530, 11470)) is None


def test_a_hand_written_comment_survives_an_update(root: Path) -> None:
    path = root / MODEL
    text = path.read_text(encoding="utf-8").replace("# 4.1% CTR over 10000 views", "# launched with a TV spot")
    path.write_text(text, encoding="utf-8")
    result = update_bandit(root, "homepage_hero", write_events(root / "e.parquet", NEW))
    assert "    posterior: {successes: 530, failures: 11470}    # launched with a TV spot" in result.new_text
    assert result.comments == 3


def test_the_update_block_sets_columns_and_mode(root: Path) -> None:
    write_table(root / "tests/data/day.csv", {"variant": ["hero_new_arrivals"] * 3, "clicked": [1, 1, 0]})
    path = root / MODEL
    text = path.read_text(encoding="utf-8").replace(
        f"update: {{from: {EVENTS}}}",
        "update: {from: tests/data/day.csv, arm_column: variant, success_column: clicked, mode: add}")
    path.write_text(text, encoding="utf-8")
    assert validate_paths(root).ok
    result = update_bandit(root, "homepage_hero")
    assert result.mode == "add" and result.source == "tests/data/day.csv"
    assert [(a.arm, a.new) for a in result.arms] == [("hero_new_arrivals", Counts(289, 7714))]


@pytest.mark.parametrize(("block", "message"), [
    ("update: {from: ../outside.parquet}", "must be a path inside the repository"),
    ("update: {sql: \"SELECT * FROM read_csv('/etc/hosts')\"}", "outside the repository"),
    ("update: {sql: \"COPY (SELECT 1) TO 'x.csv'\"}", "only a SELECT may run"),
])
def test_a_source_in_the_file_stays_inside_the_repository(root: Path, block: str, message: str) -> None:
    (root.parent / "outside.parquet").write_bytes((root / EVENTS).read_bytes())
    path = root / MODEL
    path.write_text(path.read_text(encoding="utf-8").replace(f"update: {{from: {EVENTS}}}", block), encoding="utf-8")
    with pytest.raises(UpdateError, match=message):
        update_bandit(root, "homepage_hero")


def test_a_path_the_caller_passes_may_lie_outside_the_repository(root: Path, tmp_path: Path) -> None:
    source = write_events(tmp_path / "exports" / "events.parquet", NEW)
    result = update_bandit(root, "homepage_hero", source, write=False)
    assert result.changed and result.source == str(source)


def test_models_are_found_by_name_or_file_and_only_bandits_update(root: Path) -> None:
    assert find_model(root, "homepage_hero") == MODEL
    assert find_model(root, MODEL) == MODEL
    with pytest.raises(UpdateError, match=r"no model 'homepage_hro' in weights/ \(did you mean 'homepage_hero'\?\)"):
        find_model(root, "homepage_hro")
    with pytest.raises(UpdateError, match="is a 'scorecard' model; weights update counts events for bandit models"):
        update_bandit(root, "fraud_risk", root / EVENTS)
    with pytest.raises(UpdateError, match="no such file"):
        update_bandit(root, "homepage_hero", "nope.parquet")
    with pytest.raises(UpdateError, match="not a format weights update reads"):
        update_bandit(root, "homepage_hero", MODEL)


def test_a_model_without_an_update_block_needs_a_source(root: Path) -> None:
    path = root / MODEL
    path.write_text(path.read_text(encoding="utf-8").replace(f"update: {{from: {EVENTS}}}\n", ""), encoding="utf-8")
    with pytest.raises(UpdateError, match="declares no update source; pass --from PATH or --sql QUERY"):
        update_bandit(root, "homepage_hero")
    assert updatable_models(root) == []


def test_update_all_updates_each_bandit_from_its_block_and_reports_errors(root: Path) -> None:
    assert updatable_models(root) == [("homepage_hero", MODEL)]
    assert [(o.model, o.status) for o in update_all(root)] == [("homepage_hero", "unchanged")]
    write_events(root / EVENTS, NEW)
    outcome = update_all(root, write=False)[0]
    assert outcome.status == "changed" and outcome.result is not None and not outcome.result.written
    write_events(root / EVENTS, {"hero_nope": (1, 1)})
    outcome = update_all(root)[0]
    assert outcome.status == "error" and "hero_nope" in outcome.message


def test_count_events_is_one_group_by(root: Path) -> None:
    counted = count_events(root, root / EVENTS)
    assert counted == {**{arm: Counts(*FILE_COUNTS[arm]) for arm in ARMS}, "hero_control": Counts(101, 2031)}


def test_the_diff_of_an_update_is_the_numbers_only(root: Path) -> None:
    old = (root / MODEL).read_text(encoding="utf-8")
    result = update_bandit(root, "homepage_hero", write_events(root / "e.csv", NEW))
    diff = [line for line in difflib.unified_diff(old.splitlines(), result.new_text.splitlines(), lineterm="", n=0)
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert len(diff) == 8 and all("posterior: {successes: " in line for line in diff)


def test_the_sample_events_are_what_their_generator_makes() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate_homepage_events",
                                                  PROJECT / "tests" / "data" / "generate_homepage_events.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = module.events(module.np.random.default_rng(module.SEED))
    assert made.equals(pq.read_table(PROJECT / EVENTS))
    assert {arm: counts[:2] for arm, counts in module.ARMS.items() if arm in FILE_COUNTS} == FILE_COUNTS
