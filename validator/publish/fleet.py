"""What the fleet of apps runs and what their shadow evaluation measured, read from a Prometheus server.

Apps export the series of ``validator.runtime`` (``weights_client_info`` and the ``weights_shadow_*``
counters); a Prometheus server scrapes them. ``read_fleet`` asks that server's HTTP API (instant queries on
``/api/v1/query``) and returns a ``FleetView``: how many clients run each (role, version, commit) of a channel,
and per model what the candidate's shadow evaluation counted, beside the PR replay's prediction.
``weights status --metrics`` prints it (``render_fleet``) and ``weights promote --if`` judges it
(``validator.publish.guard``).

Why totals since process start and not ``rate()`` windows: a flip rate is flips / requests of the same
requests, and the counters' current values are exactly the counts every running process made of the candidate
version (the ``candidate_version`` label isolates them from earlier candidates), so their ratio is the fleet's
flip rate over the whole bake time with nothing extrapolated. ``increase()`` over a window extrapolates to the
window's edges (non-integer counts), needs two samples per series, and would make the verdict depend on a
window length the operator must match to the bake time. The cost: a process that restarted (or exited) takes
its counts with it, so the evidence is what the running fleet measured; the guard's ``requests`` and
``clients`` variables are there to demand enough of it.

Series are first reduced per ``instance_id`` with ``max by`` (the same process scraped by two jobs, or through
federation, counts once), then summed. Every query is evaluated at the one instant the server reported first,
so the counts of one view are consistent with each other.

The runtime's ``urllib3`` (a base dependency) does the HTTP; nothing here needs an extra.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from validator.signed_numbers import as_number

QUERY_PATH = "/api/v1/query"
# A Prometheus answer to one of these queries is a few kilobytes per model; a server (or an impostor) sending
# megabytes is refused rather than buffered without end.
MAX_ANSWER_BYTES = 16 * 1024 * 1024


class FleetError(Exception):
    """Prometheus cannot be asked (unreachable, not Prometheus, refused the query): the operator's to fix."""


@dataclass(frozen=True)
class VersionCount:
    """How many clients of the channel serve one bundle in one role ("live" or "candidate")."""

    role: str
    version: str
    commit: str
    clients: int


@dataclass(frozen=True)
class ModelShadow:
    """One model's shadow measurements of the candidate version, summed over the fleet, and its prediction.

    ``measured`` says whether any client exported shadow series for this model and version at all (a model
    listed only because the PR report predicted it has ``measured`` False and zero counts). ``dropped`` and
    ``errors`` are per model and channel (their series carry no version): the running processes' totals.
    """

    model: str
    measured: bool
    requests: int
    flips: int
    clients: int
    delta_sum: float
    delta_count: int
    dropped: int
    errors: int
    predicted_metric: str | None = None
    predicted_value: float | None = None
    predicted_rows: int | None = None

    @property
    def compared(self) -> bool:
        """Whether the guard judges this model: the fleet sent it to the candidate (compared, dropped or raised),
        or the PR replay predicted it (a model that changed must be measured). One the apps never call, whose
        series sit at zero, is not judged; one whose candidate raised on every request is, and fails."""
        return self.requests > 0 or self.errors > 0 or self.dropped > 0 or self.predicted_value is not None

    @property
    def flip_rate(self) -> float | None:
        """Flips per shadowed request; None before the first request (no data is not a rate of zero)."""
        return self.flips / self.requests if self.requests > 0 else None

    @property
    def mean_abs_delta(self) -> float | None:
        """Mean absolute difference of the main value; None for kinds without one or before any request."""
        return self.delta_sum / self.delta_count if self.delta_count > 0 else None


@dataclass(frozen=True)
class FleetView:
    """One consistent reading of the fleet of one channel (all queries at the instant ``at``)."""

    source: str
    channel: str
    candidate_version: str | None
    at: float
    versions: tuple[VersionCount, ...]
    models: tuple[ModelShadow, ...]
    clients_measuring: int
    measured_versions: dict[str, int] = field(default_factory=dict)

    def clients_in(self, role: str, version: str | None = None) -> int:
        return sum(v.clients for v in self.versions if v.role == role and (version is None or v.version == version))

    @property
    def live_clients(self) -> int:
        return self.clients_in("live")

    @property
    def canary_clients(self) -> int:
        """Clients serving the candidate version itself (not a candidate aborted earlier that some still hold)."""
        return self.clients_in("candidate", self.candidate_version) if self.candidate_version is not None else 0

    def to_dict(self) -> dict[str, Any]:
        models = []
        for model in self.models:
            entry = asdict(model)
            entry["compared"] = model.compared
            entry["flip_rate"] = model.flip_rate
            entry["mean_abs_delta"] = model.mean_abs_delta
            models.append(entry)
        return {
            "source": self.source,
            "channel": self.channel,
            "candidate_version": self.candidate_version,
            "at": self.at,
            "versions": [asdict(v) for v in self.versions],
            "live_clients": self.live_clients,
            "canary_clients": self.canary_clients,
            "clients_measuring": self.clients_measuring,
            "measured_versions": dict(self.measured_versions),
            "models": models,
        }


def read_fleet(metrics_url: str, channel: str, candidate_version: str | None,
               predicted: Mapping[str, Mapping[str, Any]] | None = None, timeout: float = 10.0) -> FleetView:
    """Ask the Prometheus server at ``metrics_url`` what the fleet of ``channel`` runs and measured.

    ``candidate_version`` selects the shadow measurements (None: no candidate, only the versions are read);
    ``predicted`` is the candidate target's ``custom["predicted"]`` (interface 1), shown beside them.
    ``timeout`` bounds each request, in seconds. Raises ``FleetError`` with one line saying what is wrong.
    """
    server = _Prometheus(metrics_url, timeout)
    at = server.now()
    info = f'weights_client_info{{channel={_quote(channel)}}}'
    versions = tuple(sorted(
        (VersionCount(m.get("role", ""), m.get("version", ""), m.get("commit", ""), _count(v))
         for m, v in server.vector(
             f"count by (role, version, commit) (max by (instance_id, role, version, commit) ({info}))", at)),
        key=lambda c: (c.role != "live", c.role, _version_key(c.version), c.commit)))
    requests_all = f'weights_shadow_requests_total{{channel={_quote(channel)}}}'
    measured_versions = {m.get("candidate_version", ""): _count(v) for m, v in server.vector(
        f"count by (candidate_version) (max by (instance_id, candidate_version) ({requests_all}) > 0)", at)}
    models: tuple[ModelShadow, ...] = ()
    clients_measuring = 0
    if candidate_version is not None:
        models, clients_measuring = _shadow(server, at, channel, candidate_version, predicted or {})
    return FleetView(source=server.label, channel=channel, candidate_version=candidate_version, at=at,
                     versions=versions, models=models, clients_measuring=clients_measuring,
                     measured_versions=measured_versions)


def _shadow(server: "_Prometheus", at: float, channel: str, version: str,
            predicted: Mapping[str, Mapping[str, Any]]) -> tuple[tuple[ModelShadow, ...], int]:
    labels = f"channel={_quote(channel)}, candidate_version={_quote(version)}"

    def per_model(series: str) -> dict[str, float]:
        # One process may have measured the candidate against two live versions (the live changed meanwhile):
        # both series count, hence live_version in the inner grouping.
        return {m.get("model", ""): v for m, v in server.vector(
            f"sum by (model) (max by (instance_id, model, live_version) ({series}{{{labels}}}))", at)}

    requests = per_model("weights_shadow_requests_total")
    flips = per_model("weights_shadow_flips_total")
    delta_sum = per_model("weights_shadow_abs_score_delta_sum")
    delta_count = per_model("weights_shadow_abs_score_delta_count")
    clients = {m.get("model", ""): v for m, v in server.vector(
        f"count by (model) (max by (instance_id, model) (weights_shadow_requests_total{{{labels}}}) > 0)", at)}
    channel_only = f"channel={_quote(channel)}"
    dropped = {m.get("model", ""): v for m, v in server.vector(
        f"sum by (model) (max by (instance_id, model) (weights_shadow_dropped_total{{{channel_only}}}))", at)}
    errors = {m.get("model", ""): v for m, v in server.vector(
        f"sum by (model) (max by (instance_id, model) (weights_shadow_errors_total{{{channel_only}}}))", at)}
    measuring = server.vector(
        f"count(max by (instance_id) (weights_shadow_requests_total{{{labels}}}) > 0)", at)
    models = []
    for name in sorted(set(requests) | set(predicted)):
        prediction = predicted.get(name)
        if not isinstance(prediction, Mapping):  # signed, but written by another tool: tolerate, show nothing
            prediction = {}
        value = as_number(prediction.get("value"))
        rows = as_number(prediction.get("rows"))
        models.append(ModelShadow(
            model=name, measured=name in requests, requests=_count(requests.get(name, 0.0)),
            flips=_count(flips.get(name, 0.0)), clients=_count(clients.get(name, 0.0)),
            delta_sum=_finite(delta_sum.get(name, 0.0)), delta_count=_count(delta_count.get(name, 0.0)),
            dropped=_count(dropped.get(name, 0.0)), errors=_count(errors.get(name, 0.0)),
            predicted_metric=str(prediction["metric"]) if "metric" in prediction else None,
            predicted_value=value,
            predicted_rows=int(rows) if rows is not None and rows.is_integer() else None,
        ))
    return tuple(models), (_count(measuring[0][1]) if measuring else 0)


class _Prometheus:
    """Instant queries against one server; every failure becomes a FleetError naming the server (no secrets)."""

    def __init__(self, url: str, timeout: float) -> None:
        import urllib3

        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise FleetError(f"--metrics {_redact(url)!r} is not an http(s):// URL of a Prometheus server "
                             "(e.g. http://prometheus:9090)")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise FleetError(f"the metrics timeout must be a positive number of seconds, not {timeout}")
        path = parts.path.rstrip("/")
        if path.endswith(QUERY_PATH):  # the API URL itself was given: accept it as the base's
            path = path[: -len(QUERY_PATH)]
        netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        if ":" in (parts.hostname or "") and not netloc.startswith("["):
            netloc = f"[{parts.hostname}]" + ("" if parts.port is None else f":{parts.port}")
        self.base = urlunsplit((parts.scheme.lower(), netloc, path, "", ""))
        self.label = self.base
        self.timeout = timeout
        headers = {"Accept": "application/json", "User-Agent": "weights-fleet"}
        if parts.username is not None:  # http://user:password@host: basic auth, never echoed back
            headers.update(urllib3.make_headers(basic_auth=f"{parts.username}:{parts.password or ''}"))
        self._headers = headers
        self._http = urllib3.PoolManager(
            retries=urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=3),
            timeout=urllib3.Timeout(connect=timeout, read=timeout))

    def _ask(self, promql: str, at: float | None) -> dict[str, Any]:
        import urllib3

        fields = {"query": promql, "timeout": f"{self.timeout:g}s"}
        if at is not None:
            fields["time"] = repr(at)
        try:
            answer = self._http.request("GET", self.base + QUERY_PATH, fields=fields, headers=self._headers,
                                        preload_content=False)
        except urllib3.exceptions.HTTPError as exc:
            raise FleetError(f"cannot reach Prometheus at {self.label}: {_reason(exc)}") from None
        try:
            body = answer.read(MAX_ANSWER_BYTES + 1)
        except urllib3.exceptions.HTTPError as exc:
            raise FleetError(f"Prometheus at {self.label} broke off its answer: {_reason(exc)}") from None
        finally:
            answer.release_conn()
        if len(body) > MAX_ANSWER_BYTES:
            raise FleetError(f"{self.label} answered more than {MAX_ANSWER_BYTES} bytes to one query: "
                             "is this a Prometheus server?")
        if answer.status in (401, 403):
            raise FleetError(f"Prometheus at {self.label} answered HTTP {answer.status}: credentials missing or refused "
                             "(give them in the URL, https://user:password@host, sent as basic auth)")
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("status") not in ("success", "error"):
            raise FleetError(f"{self.label} does not answer like a Prometheus server (HTTP {answer.status} to "
                             f"{QUERY_PATH}, not its JSON): pass the server's base URL, e.g. http://prometheus:9090")
        if data["status"] == "error":
            raise FleetError(f"Prometheus at {self.label} refused the query ({data.get('errorType', 'error')}: "
                             f"{data.get('error', 'no reason given')}; HTTP {answer.status})")
        if answer.status != 200:
            raise FleetError(f"Prometheus at {self.label} answered HTTP {answer.status}")
        result = data.get("data")
        if not isinstance(result, dict) or "result" not in result:
            raise FleetError(f"{self.label} answered without data: not Prometheus's query API")
        return result

    def now(self) -> float:
        """The server's own clock: all queries of one view are evaluated at this instant."""
        result = self._ask("time()", None)
        try:
            return float(result["result"][0])
        except (TypeError, ValueError, IndexError, KeyError):
            raise FleetError(f"{self.label} answered time() without a time: not Prometheus's query API") from None

    def vector(self, promql: str, at: float) -> list[tuple[dict[str, str], float]]:
        result = self._ask(promql, at)
        if result.get("resultType") != "vector" or not isinstance(result["result"], list):
            raise FleetError(f"{self.label} answered an instant query with {result.get('resultType')!r}, "
                             "not a vector: not Prometheus's query API")
        samples = []
        for item in result["result"]:
            try:
                samples.append((dict(item["metric"]), float(item["value"][1])))
            except (TypeError, ValueError, IndexError, KeyError):
                raise FleetError(f"{self.label} answered a malformed sample: not Prometheus's query API") from None
        return samples


def render_fleet(view: FleetView) -> list[str]:
    """The lines ``weights status --metrics`` prints: versions with client counts, then the shadow table."""
    lines = [f"fleet       {view.source}, channel {view.channel}"]
    if not view.versions:
        lines.append("  no client reports weights_client_info for this channel (are the apps' metrics scraped, "
                     "with WeightsClient(metrics=...)?)")
    for count in view.versions:
        lines.append(f"  {count.role:<9} version {count.version:<6} commit {count.commit[:12] or '?':<12} "
                     f"{count.clients} client{'s' if count.clients != 1 else ''}")
    if view.candidate_version is None:
        lines.append("shadow      no candidate version to compare")
        return lines
    lines.append(f"shadow      candidate version {view.candidate_version}: measured by {view.clients_measuring} "
                 f"client{'s' if view.clients_measuring != 1 else ''}")
    shown = [m for m in view.models if m.compared]
    idle = [m.model for m in view.models if not m.compared]
    if not shown:
        lines.append("  no shadowed request of this version yet (WeightsClient(shadow=...) in the apps?)")
    else:
        lines.extend(_shadow_table(shown))
    if idle:
        lines.append(f"  not called since the candidate appeared (not judged): {', '.join(idle)}")
    return lines


def _shadow_table(models: list[ModelShadow]) -> list[str]:
    lines = []
    width = max(len("model"), *(len(m.model) for m in models))
    lines.append(f"  {'model':<{width}}  {'requests':>9}  {'flips':>7}  {'flip rate':>9}  {'predicted':>9}  "
                 f"{'mean |delta|':>12}  {'dropped':>7}  {'errors':>6}")
    for m in models:
        delta = "-" if m.mean_abs_delta is None else f"{m.mean_abs_delta:.6g}"
        basis = f"  {m.predicted_metric} on {m.predicted_rows} rows" if m.predicted_metric else ""
        lines.append(f"  {m.model:<{width}}  {m.requests:>9}  {m.flips:>7}  {_percent(m.flip_rate):>9}  "
                     f"{_percent(m.predicted_value):>9}  {delta:>12}  {m.dropped:>7}  {m.errors:>6}{basis}")
    return lines


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _quote(value: str) -> str:
    """A PromQL string literal (Go's escapes; JSON's are a subset of them)."""
    return json.dumps(value, ensure_ascii=True)


def _count(value: float) -> int:
    return int(round(value)) if math.isfinite(value) else 0


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def _version_key(version: str) -> tuple[int, int | str]:
    return (0, int(version)) if version.isdigit() else (1, version)


def _redact(url: str) -> str:
    """The URL without user and password, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _reason(exc: BaseException) -> str:
    """The innermost cause of a urllib3 error, short ("Connection refused", "timed out")."""
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    for marker in ("Connection refused", "timed out", "Name or service not known", "No route to host",
                   "nodename nor servname", "Temporary failure in name resolution"):
        if marker in text:
            return marker.lower() if marker == "timed out" else marker
    return text.split(": ", 1)[-1] if "): " in text else text
