"""The ranking's replay, one query at a time: top-k overlap and Kendall tau between the base and head orders,
and NDCG@k against relevance labels (``validator.gate.replay.ReplayJob`` in, ``Measured`` out; guardrails judge
``min_topk_overlap`` and ``min_ndcg_delta``).

A query is ranked as one request, so its rows must be adjacent in the data; a query cut by a batch boundary is
carried over to the next batch.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from validator.data.datasets import (
    DatasetError,
    Wanted,
    to_column,
    to_columns,
)
from validator.gate.replay import ReplayJob
from validator.gate.replay_metrics import Measured, kendall_tau, ndcg, pct
from validator.kinds.columns import NUMBER
from validator.kinds.ranking.vectorized import group_starts

UNIT = "items"
READS_DATA = True
DEFAULT_TOP_K = 10


def measure(job: ReplayJob) -> Measured:
    """Rank every query with both versions and compare the orders (and their quality, with labels)."""
    vb, vh, replay = job.base, job.head, job.replay
    query = replay.get("query")
    if not query:
        raise job.fail(("replay", "query"), "a ranking replays per query: name the query id column "
                       "(replay.query), rows of one query adjacent")
    relevance = replay.get("relevance")
    k = int(replay.get("top_k", DEFAULT_TOP_K))
    extra = [Wanted(query, "text")] + ([Wanted(relevance, NUMBER)] if relevance else [])
    acc = RankingMetrics(k, vb is not None, vh is not None)
    finished: set[str] = set()
    wanted = job.wanted(extra)
    for relpath in job.datasets:
        carry: pa.Table | None = None
        for batch in job.dataset_batches(relpath, wanted):
            table = pa.Table.from_batches([batch])
            if carry is not None:
                table = pa.concat_tables([carry, table])
            groups_col = to_column(table.column(query), "text", f"dataset {relpath}, query column {query!r},")
            labels = np.array(groups_col.levels + ("",), dtype=object)[groups_col.values]
            starts = group_starts(labels)
            # the last query may continue in the next batch: keep it back
            cut = int(starts[-1]) if len(starts) else 0
            carry = table.slice(cut)
            if cut:
                _rank_groups(acc, table.slice(0, cut), vb, vh, query, relevance, relpath, finished)
        if carry is not None and carry.num_rows:
            _rank_groups(acc, carry, vb, vh, query, relevance, relpath, finished)
    if acc.queries == 0:
        raise job.no_rows()
    return acc.result()


def _rank_groups(acc: RankingMetrics, table: pa.Table, vb: Any, vh: Any, query: str, relevance: str | None,
                 relpath: str, finished: set[str]) -> None:
    groups_col = to_column(table.column(query), "text", f"dataset {relpath}, query column {query!r},")
    if groups_col.missing.any():
        raise DatasetError(f"dataset {relpath}, query column {query!r} has empty query ids")
    labels = np.array(groups_col.levels, dtype=object)[groups_col.values]
    starts = group_starts(labels)
    for s in starts:
        qid = labels[s]
        if qid in finished:
            raise DatasetError(f"dataset {relpath}: the rows of query {qid!r} are not adjacent; sort the data by "
                               f"{query!r} (a query is ranked as one request)")
        finished.add(qid)
    rb = vb.rank(to_columns(table, vb.input_types, relpath), labels) if vb else None
    rh = vh.rank(to_columns(table, vh.input_types, relpath), labels) if vh else None
    rel = None
    if relevance:
        rel = to_column(table.column(relevance), NUMBER, f"dataset {relpath}, relevance column {relevance!r},").values
    ends = np.append(starts[1:], len(labels))
    for s, e in zip(starts, ends, strict=False):
        acc.add_group(rb.ranks[s:e] if rb else None, rh.ranks[s:e] if rh else None,
                      rel[s:e] if rel is not None else None)


class RankingMetrics:
    """Per query: top-k overlap and Kendall tau between base and head orders, NDCG@k against labels."""

    def __init__(self, k: int = DEFAULT_TOP_K, has_base: bool = True, has_head: bool = True) -> None:
        self.k = k
        self.has = {"base": has_base, "head": has_head}
        self.queries = 0
        self.items = 0
        self.rejected = {"base": 0, "head": 0}
        self.overlap_sum = 0.0
        self.tau_sum = 0.0
        self.compared = 0
        self.ndcg_sum = {"base": 0.0, "head": 0.0}
        self.ndcg_n = {"base": 0, "head": 0}
        self.top_moves = 0  # items that enter or leave a query's top k
        self.reordered = 0  # compared queries whose order of items changes (what a shadowing app counts)

    def add_group(self, base_ranks: np.ndarray | None, head_ranks: np.ndarray | None,
                  relevance: np.ndarray | None) -> None:
        """One query: 1-based ranks of its items per version (0 where the version refused the query)."""
        self.queries += 1
        first = base_ranks if base_ranks is not None else head_ranks
        assert first is not None, "the ranks of at least one version"
        self.items += len(first)
        ok = {}
        for version, ranks in (("base", base_ranks), ("head", head_ranks)):
            if ranks is None:
                continue
            ok[version] = bool(len(ranks)) and bool(ranks[0] > 0)
            if not ok[version]:
                self.rejected[version] += 1
            elif relevance is not None and not np.isnan(relevance).any():
                value = ndcg(ranks, relevance, self.k)
                if not math.isnan(value):
                    self.ndcg_sum[version] += value
                    self.ndcg_n[version] += 1
        if ok.get("base") and ok.get("head"):
            assert base_ranks is not None and head_ranks is not None
            k = min(self.k, len(base_ranks))
            in_base, in_head = np.asarray(base_ranks <= k), np.asarray(head_ranks <= k)
            self.overlap_sum += float(np.count_nonzero(in_base & in_head)) / k
            self.top_moves += int(np.count_nonzero(in_head & ~in_base))
            self.tau_sum += kendall_tau(base_ranks.astype(np.float64), head_ranks.astype(np.float64))
            self.reordered += int(not np.array_equal(base_ranks, head_ranks))
            self.compared += 1

    def result(self) -> Measured:
        out = Measured()
        m = out.metrics
        m["rows"] = float(self.items)
        m["queries"] = float(self.queries)
        for version, has in self.has.items():
            if has:
                m[f"rejected_queries.{version}"] = float(self.rejected[version])
                if self.rejected[version]:
                    out.summary.append(f"{self.rejected[version]} of {self.queries} queries refused by {version}'s "
                                       "input policy")
        if self.compared:
            overlap = self.overlap_sum / self.compared
            tau = self.tau_sum / self.compared
            m[f"topk_overlap@{self.k}"] = overlap
            m["topk_overlap"] = overlap
            m["kendall_tau"] = tau
            m["topk_entries"] = float(self.top_moves)
            # The share of queries whose whole order changes: the rate a shadowing app measures on live traffic
            # (kinds/ranking/shadow.py), so the fleet's figure is read against this prediction.
            m["order_change_rate"] = self.reordered / self.compared
            m["queries_compared"] = float(self.compared)
            out.guard_values["min_topk_overlap"] = (overlap, f"k={self.k}")
            out.summary.append(f"top-{self.k} overlap {pct(overlap)} on average over {self.compared} queries; "
                               f"{self.top_moves} items enter a top {self.k}")
            out.summary.append(f"Kendall tau between the orders {tau:.4f}")
            out.summary.append(f"{pct(self.reordered / self.compared)} of queries change order "
                               f"({self.reordered} of {self.compared})")
        values = {}
        for version in ("base", "head"):
            if self.ndcg_n[version]:
                values[version] = self.ndcg_sum[version] / self.ndcg_n[version]
                m[f"ndcg@{self.k}.{version}"] = values[version]
                m[f"ndcg.{version}"] = values[version]
        if len(values) == 2:
            delta = values["head"] - values["base"]
            m["ndcg.delta"] = delta
            out.guard_values["min_ndcg_delta"] = (delta, f"{values['base']:.4f} -> {values['head']:.4f}")
            out.summary.append(f"NDCG@{self.k} {values['base']:.4f} -> {values['head']:.4f} ({delta:+.4f})")
        elif values:
            (version, value), = values.items()
            out.summary.append(f"NDCG@{self.k} {value:.4f} ({version})")
        return out
