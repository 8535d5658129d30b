"""Shadow counts match a replay of the same requests exactly (issue 12).

For each compared kind: the project's model and a changed copy of it, the replay's own sample rows read by the
replay's own reader, and two counts of the same thing. (a) The shadow's: every row (a ranking: every query) is
sent as a request to the scalar evaluators an app runs, old and new, and the kind's shadow room
(``validator.kinds.<kind>.shadow.compare``) says whether the outcome changed. (b) The replay's: ``weights
check``'s ``simulate_model`` on the same rows, whose metric named by the room's ``PREDICTED_BY`` is the share of
compared requests that changed. The two counts are integers and must be equal, as must the number of requests
compared; the changes are chosen so some requests change and some do not (a count of 0 or of all proves little).
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from validator.gate.replay import ReplayJob, simulate_model
from validator.gate.sources import WorkTree
from validator.gate.validate import ValidationResult, validate
from validator.kinds import KINDS, InputError, compile_model
from validator.kinds.contract import Contract

PROJECT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def gate() -> ValidationResult:
    """The project's models as the gate resolves them (a table with its rows embedded) and their contracts."""
    result = validate(WorkTree(PROJECT))
    assert result.ok, [f.render() for f in result.findings]
    return result


def resolved(name: str) -> tuple[dict[str, Any], Contract]:
    result = gate()
    doc = copy.deepcopy(result.models[name])
    return doc, result.contracts[doc["contract"]]


# --------------------------------------------------------------------------------------- the changed models


def scale_term_weight(index: int, factor: float) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        doc["terms"][index]["weight"] = round(doc["terms"][index]["weight"] * factor, 6)
    return change


def move_centroid(doc: dict[str, Any]) -> None:
    doc["segments"][0]["centroid"]["discount_share"] -= 0.2  # bargain hunters: a little less discount-driven


def scale_popularity(doc: dict[str, Any]) -> None:
    doc["features"][1]["weight"] = 0.38  # popularity 0.35 -> 0.38


def edit_rows(doc: dict[str, Any]) -> None:
    """Every 97th row's boost moves by 0.05 (within the header's range) and every 89th row is removed (its
    requests get the default row, found false); pinned_slots stays, so the delta is the boost's."""
    table = doc["table"]
    columns = table["columns"]
    boost = columns["boost"]
    for i in range(0, len(boost), 97):
        boost[i] = round(boost[i] + (0.05 if boost[i] <= 2.9 else -0.05), 6)
    keep = [i for i in range(table["rows"]) if i % 89 != 88]
    for column, values in columns.items():
        columns[column] = [values[i] for i in keep]
    table["rows"] = len(keep)


CHANGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "fraud_risk": scale_term_weight(1, 1.05),
    "churn_coupon": scale_term_weight(0, 1.05),
    "customer_segments": move_centroid,
    "search_ranking": scale_popularity,
    "category_boost": edit_rows,
}


# ------------------------------------------------------------------------------------- the same requests


def replay_job(name: str, base: dict[str, Any], head: dict[str, Any], contract: Contract) -> ReplayJob:
    """The job ``simulate_model`` hands the kind's measure: its reader gives the rows, typed as the replay
    types them (so the scalar evaluators and the twins see the same values)."""
    kind = KINDS[base["kind"]]
    replay = dict(head.get("replay") or {})
    dataset = replay["dataset"]
    datasets = (dataset,) if isinstance(dataset, str) else tuple(dataset)
    return ReplayJob(PROJECT, name, kind.name, kind.compile_vectorized(base, contract),
                     kind.compile_vectorized(head, contract), base, head, replay, datasets)


def replay_columns(job: ReplayJob) -> list[Any]:
    """The columns the replay reads: every input, and the outcome, query id and relevance columns it names."""
    from validator.data.datasets import Wanted
    from validator.kinds.columns import NUMBER

    types = {"outcome": None, "query": "text", "relevance": NUMBER}
    return job.wanted([Wanted(job.replay[key], typ) for key, typ in types.items() if job.replay.get(key)])


def requests(job: ReplayJob) -> Iterator[Any]:
    """Each request an app would send for the replay's rows: one row's inputs, or (with ``replay.query``) the
    rows of one query as the list of items to rank."""
    query = job.replay.get("query")
    group: list[dict[str, Any]] = []
    current: Any = None
    for _, batch in job.batches(replay_columns(job)):
        for row in batch.to_pylist():
            if not query:
                yield row
                continue
            if group and row[query] != current:
                yield group
                group = []
            current = row[query]
            group.append(row)
    if group:
        yield group


@dataclass
class ShadowCounts:
    """What the shadow worker counts, per model: requests both versions answered, outcome changes, errors."""

    compared: int = 0
    changed: int = 0
    errors: int = 0
    deltas: int = 0


def shadow_counts(kind_name: str, live: Any, candidate: Any, stream: Iterator[Any]) -> ShadowCounts:
    """Every request through both scalar evaluators, compared by the kind's shadow room."""
    kind = KINDS[kind_name]
    compare = kind.room("shadow").compare
    counts = ShadowCounts()
    for request in stream:
        try:
            live_result = kind.call(live, request)
        except InputError:
            continue  # the app's own request failed: nothing to shadow
        try:
            candidate_result = kind.call(candidate, request)
        except InputError:
            counts.errors += 1
            continue
        changed, delta = compare(live_result, candidate_result)
        counts.compared += 1
        counts.changed += changed
        counts.deltas += delta is not None
    return counts


def replay_denominator(metrics: Mapping[str, float]) -> int:
    """The requests the replay compared, from its metrics: the kinds that count refusals per version compare
    rows neither version refused (with an unchanged input policy both refuse the same rows)."""
    for key in ("queries_compared", "requests_answered"):
        if key in metrics:
            return int(metrics[key])
    assert metrics["rejected.base"] == metrics["rejected.head"], "the change keeps the input policy"
    return int(metrics["rows"] - metrics["rejected.base"])


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_shadow_counts_equal_the_replays_count_on_the_same_requests(name: str) -> None:
    base, contract = resolved(name)
    head = copy.deepcopy(base)
    CHANGES[name](head)
    kind = KINDS[base["kind"]]
    room = kind.room("shadow")
    assert room.CHANGE is not None and room.PREDICTED_BY is not None

    job = replay_job(name, base, head, contract)
    shadow = shadow_counts(kind.name, compile_model(base, contract), compile_model(head, contract), requests(job))
    impact = simulate_model(PROJECT, name, base, head, contract, contract)

    rate = impact.metrics[room.PREDICTED_BY]
    compared = replay_denominator(impact.metrics)
    assert shadow.errors == 0  # the changes keep the input policy: every request the live answers, the candidate does
    assert shadow.compared == compared
    assert 0 < shadow.changed < shadow.compared, "a change that moves some requests and not others"
    assert shadow.changed == round(rate * compared)  # integers: the replay's count, recovered from its rate
    assert rate == shadow.changed / shadow.compared  # and the same division gives the same float
    if name == "category_boost" or kind.name == "scorecard":
        assert shadow.deltas == shadow.compared  # a scorecard's score, a table's boost: a delta on every request


def test_the_replay_counts_no_change_for_an_unchanged_model_and_neither_does_the_shadow() -> None:
    base, contract = resolved("search_ranking")
    job = replay_job("search_ranking", base, copy.deepcopy(base), contract)
    shadow = shadow_counts("ranking", compile_model(base, contract), compile_model(base, contract), requests(job))
    impact = simulate_model(PROJECT, "search_ranking", base, copy.deepcopy(base), contract, contract)
    assert shadow.changed == 0 and impact.metrics["order_change_rate"] == 0.0
    assert shadow.compared == impact.metrics["queries_compared"] > 0


def test_a_candidate_that_refuses_is_an_error_not_a_change_in_both_counts() -> None:
    """A table whose candidate refuses keys without a row: the replay's value_change_rate leaves those requests
    out (as the shadow counts them as errors), while traffic_changed_share still counts them."""
    base, contract = resolved("category_boost")
    head = copy.deepcopy(base)
    edit_rows(head)
    head["missing_key"] = {"action": "reject"}
    job = replay_job("category_boost", base, head, contract)
    shadow = shadow_counts("table", compile_model(base, contract), compile_model(head, contract), requests(job))
    impact = simulate_model(PROJECT, "category_boost", base, head, contract, contract)
    m = impact.metrics
    assert shadow.errors == round((m["refused_share.head"] - m["refused_share.base"]) * m["rows"]) > 0
    assert shadow.compared == m["requests_answered"]
    assert shadow.changed == round(m["value_change_rate"] * m["requests_answered"])
    assert m["traffic_changed_share"] * m["rows"] > shadow.changed


def test_the_bandit_compares_nothing() -> None:
    """Two Thompson draws differ by chance: the room declares no change word and reports no change."""
    doc, contract = resolved("homepage_hero")
    room = KINDS[doc["kind"]].room("shadow")
    assert room.CHANGE is None and room.PREDICTED_BY is None
    model = compile_model(doc, contract)
    picks = [KINDS[doc["kind"]].call(model, {"seed": seed}) for seed in range(50)]  # seeded: the same draws each run
    assert len({pick.arm for pick in picks}) > 1  # the draws do differ...
    assert {room.compare(a, b) for a, b in zip(picks, picks[1:], strict=False)} == {(False, None)}  # ...no change


# ------------------------------------------------------------------ (c) end to end: a real shadowing client

# Requests per model sent through the client: the first rows (a ranking: the first queries) of each replay dataset.
E2E_ROWS = 3000
E2E_QUERIES = 150
WAIT = 120.0  # the upper bound of every wait for the client; only a client that never gets there fails


def first_requests(job: ReplayJob) -> pa.Table:
    """The replay's typed rows of the first ``E2E_ROWS`` requests (a ranking: every row of its first
    ``E2E_QUERIES`` queries): what the client is sent, and the frame the replay measures."""
    query = job.replay.get("query")
    table = pa.Table.from_batches([batch for _, batch in job.batches(replay_columns(job))])
    if not query:
        return table.slice(0, E2E_ROWS)
    ids = table.column(query).to_pylist()
    starts = [i for i in range(len(ids)) if i == 0 or ids[i] != ids[i - 1]]
    return table.slice(0, starts[E2E_QUERIES])


def as_requests(table: pa.Table, query: str | None) -> list[Any]:
    rows = table.to_pylist()
    if not query:
        return rows
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:  # a query's rows are adjacent (the replay refuses them otherwise): insertion order is theirs
        groups.setdefault(row[query], []).append(row)
    return list(groups.values())


@dataclass(frozen=True)
class Shadowed:
    """What one client counted per model, and what the replay measured on the same requests."""

    counts: Mapping[str, Any]        # model -> validator.runtime.shadow.ShadowCount
    impacts: Mapping[str, Any]       # model -> validator.gate.replay.Impact on the frame of the sent requests
    sent: Mapping[str, int]          # model -> requests sent through the client


@pytest.fixture(scope="module")
def shadowed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shadowed]:
    """The project's bundle published live, a copy with every model of ``CHANGES`` changed published to the
    ``shadow`` channel of the same signed repository, served over HTTP on 127.0.0.1; one WeightsClient with
    ``shadow=1.0`` and a queue that holds every sample sends each model's requests, then waits for its worker."""
    from publish_helpers import served
    from runtime_helpers import Site, app_contracts, base_document, bundle_of

    from validator.publish import repository as tuf_repo
    from validator.runtime import WeightsClient

    live_doc = copy.deepcopy(base_document())
    candidate_doc = copy.deepcopy(live_doc)
    for name, change in CHANGES.items():
        change(candidate_doc["models"][name])
    candidate_doc["provenance"]["commit"] = "c" * 40
    contracts = {c.name: c for c in app_contracts()}

    frames: dict[str, pa.Table] = {}
    requests_of: dict[str, list[Any]] = {}
    impacts: dict[str, Any] = {}
    for name in CHANGES:
        base, head = live_doc["models"][name], candidate_doc["models"][name]
        contract = contracts[base["contract"]]
        job = replay_job(name, base, head, contract)
        frames[name] = first_requests(job)
        requests_of[name] = as_requests(frames[name], job.replay.get("query"))
        impacts[name] = simulate_model(PROJECT, name, base, head, contract, contract, frame=frames[name])

    tmp = tmp_path_factory.mktemp("shadow-e2e")
    site = Site(tmp / "site")
    site.publish(live_doc)
    tuf_repo.publish(site.storage, site.root, site.keys.source(), bundle_of(candidate_doc), "shadow", site.expiry)
    total = sum(len(r) for r in requests_of.values())
    with served(site.folder) as server:
        client = WeightsClient(server.url, site.root, tmp / "cache", contract=list(contracts.values()),
                               interval=3600.0, timeout=30.0, push=False, instance_id="shadow-replay",
                               shadow=1.0, shadow_queue_size=total)
        try:
            client.refresh(raise_errors=True)
            status = client.status().shadow
            assert status is not None and status.active and status.source == "shadow channel", status
            sent: dict[str, int] = {}
            for name, stream in requests_of.items():
                verb = KINDS[live_doc["models"][name]["kind"]].verb
                sent[name] = 0
                for request in stream:
                    try:
                        getattr(client.model(name), verb)(request)
                    except InputError:
                        continue  # the live version refused: the app gets the error, nothing is shadowed
                    sent[name] += 1
            assert client.shadow is not None and client.shadow.wait_idle(WAIT), "the shadow worker never drained"
            counts = {c.model: c for c in client.shadow.counts()}
        finally:
            client.stop()
    yield Shadowed(counts, impacts, sent)


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_a_shadowing_clients_counts_equal_the_replays_on_the_same_requests(shadowed: Shadowed, name: str) -> None:
    count, impact = shadowed.counts[name], shadowed.impacts[name]
    room = KINDS[impact.kind].room("shadow")
    rate = impact.metrics[room.PREDICTED_BY]
    compared = replay_denominator(impact.metrics)
    assert (count.dropped, count.errors, count.skipped) == (0, 0, 0)  # the queue held every sample
    assert count.requests == shadowed.sent[name] == compared
    assert 0 < count.flips < count.requests, "a change that moves some requests and not others"
    assert count.flips == round(rate * compared)
    assert count.flip_rate == rate
