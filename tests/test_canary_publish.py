"""The canary on the publishing side: ``<channel>/candidate.json`` beside the live bundle in one signed targets
metadata, ``publish_canary`` / ``promote`` / ``abort`` as one signed publish each, and the commands around them.

python-tuf's own client (``ngclient.Updater``, through ``publish_helpers.updater``) judges every step: a client
that keeps its trusted metadata from step to step must verify both targets after each one, so rollback and
mix-and-match protection cover the candidate exactly as they cover the live bundle.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from publish_helpers import (
    CrashingStorage,
    SimulatedCrash,
    TestKeys,
    change_weights,
    fake_bundle,
    make_repo,
    run_weights,
    served,
    updater,
)

from validator.publish import repository as tuf_repo
from validator.publish.bundle import candidate_path, target_path
from validator.publish.prediction import ReportError, predictions, read_predictions
from validator.publish.repository import CandidateChanged, Expiry, NothingPublished
from validator.publish.storage import FolderStorage

LIVE = target_path("production")
CANDIDATE = candidate_path("production")
V1, V2, V3 = fake_bundle("v1", "1" * 40), fake_bundle("v2", "2" * 40), fake_bundle("v3", "3" * 40)


class Site:
    """A published folder, its keys and root, and one python-tuf client that keeps its trust between steps."""

    def __init__(self, folder: Path, client_dir: Path, keys: TestKeys | None = None,
                 root: bytes | None = None) -> None:
        self.keys = keys or TestKeys.generate()
        self.root = root or self.keys.root()
        self.folder = folder
        self.client_dir = client_dir

    @property
    def storage(self) -> FolderStorage:
        return FolderStorage(self.folder)

    def publish(self, bundle: Any, **kwargs: Any) -> tuf_repo.PublishResult:
        return tuf_repo.publish(self.storage, self.root, self.keys.source(), bundle, "production", Expiry(), **kwargs)

    def canary(self, bundle: Any, fraction: float, **kwargs: Any) -> tuf_repo.PublishResult:
        return tuf_repo.publish_canary(self.storage, self.root, self.keys.source(), bundle, "production", fraction,
                                       Expiry(), **kwargs)

    def promote(self, **kwargs: Any) -> tuf_repo.PublishResult:
        return tuf_repo.promote(self.storage, self.root, self.keys.source(), "production", Expiry(), **kwargs)

    def abort(self) -> tuf_repo.PublishResult:
        return tuf_repo.abort(self.storage, self.root, self.keys.source(), "production", Expiry())

    def seen(self, client_dir: Path | None = None) -> dict[str, tuple[bytes, dict[str, Any]]]:
        """What a python-tuf client verifies now: path -> (bytes, custom) of the live and candidate targets."""
        out = {}
        with served(self.folder) as server:
            client = updater(client_dir or self.client_dir, server.url, self.root)
            client.refresh()
            for path in (LIVE, CANDIDATE):
                info = client.get_targetinfo(path)
                if info is not None:
                    out[path] = (Path(client.download_target(info)).read_bytes(), dict(info.custom))
        return out


@pytest.fixture
def site(tmp_path: Path) -> Site:
    site = Site(tmp_path / "site", tmp_path / "client")
    site.publish(V1)
    return site


# --- the library operations ---------------------------------------------------------------------------------

def test_every_new_target_records_the_version_that_first_published_it(site):
    assert site.seen()[LIVE][1]["version"] == 1
    result = site.publish(V2)
    assert result.version == 2 and result.custom["version"] == 2
    assert site.seen()[LIVE] == (V2.data, result.custom)


def test_a_candidate_is_a_second_signed_target_of_the_same_metadata(site):
    result = site.canary(V2, 0.1)
    assert result.changed and result.path == CANDIDATE and result.version == 2
    canary = result.custom["canary"]
    assert canary["fraction"] == "0.1" and re.fullmatch("[0-9a-f]{16}", canary["salt"])
    assert result.custom["version"] == 2 and result.custom["commit"] == "2" * 40
    seen = site.seen()
    assert seen[LIVE][0] == V1.data and seen[LIVE][1]["version"] == 1
    assert seen[CANDIDATE] == (V2.data, result.custom)
    targets = json.loads((site.folder / "metadata" / "2.targets.json").read_text())["signed"]["targets"]
    assert sorted(targets) == sorted([LIVE, CANDIDATE])


def test_raising_the_fraction_keeps_salt_and_version_and_is_idempotent(site):
    first = site.canary(V2, 0.1)
    same = site.canary(V2, 0.1)
    assert not same.changed and same.written == [] and same.version == first.version
    raised = site.canary(V2, 0.3)
    assert raised.changed and raised.version == first.version + 1
    assert raised.custom["canary"] == {"fraction": "0.3", "salt": first.custom["canary"]["salt"]}
    assert raised.custom["version"] == first.custom["version"]
    assert any("same salt" in note for note in raised.notes)
    assert site.seen()[CANDIDATE] == (V2.data, raised.custom)


def test_a_different_candidate_replaces_the_old_one_with_a_new_salt_and_version(site):
    first = site.canary(V2, 0.3)
    second = site.canary(V3, 0.3)
    assert second.custom["canary"]["salt"] != first.custom["canary"]["salt"]
    assert second.custom["version"] == second.version == first.version + 1
    assert any("replaced the candidate" in note and "2222222222" in note for note in second.notes)
    assert site.seen()[CANDIDATE][0] == V3.data


def test_the_prediction_is_kept_when_the_fraction_changes(site):
    predicted = {"fraud_risk": {"metric": "decision_flip_rate", "value": 0.012, "rows": 40000}}
    first = site.canary(V2, 0.1, predicted=predicted)
    raised = site.canary(V2, 0.2)
    signed = {"fraud_risk": {"metric": "decision_flip_rate", "value": "0.012", "rows": 40000}}
    assert first.custom["predicted"] == raised.custom["predicted"] == signed
    assert site.seen()[CANDIDATE][1]["predicted"] == signed
    assert tuf_repo.candidate_of(site.storage, site.root, "production").predicted == predicted


@pytest.mark.parametrize("fraction, words", [(1.0, "publish without --canary, or promote a running canary"), (1.5, "publish without --canary, or promote a running canary"),
                                             (0.0, "weights abort"), (-0.1, "weights abort"),
                                             (float("nan"), "between 0 and 1")])
def test_a_fraction_outside_zero_to_one_is_refused_before_anything_is_read(tmp_path, fraction, words):
    keys = TestKeys.generate()
    with pytest.raises(ValueError, match=words):
        tuf_repo.publish_canary(FolderStorage(tmp_path / "nowhere"), keys.root(), keys.source(), V2, "production",
                                fraction, Expiry())
    assert not (tmp_path / "nowhere" / "metadata").exists()


def test_a_candidate_equal_to_the_live_bundle_is_refused(site):
    before = sorted(p.name for p in (site.folder / "metadata").iterdir())
    with pytest.raises(ValueError, match="already live on production .*nothing to canary"):
        site.canary(V1, 0.1)
    assert sorted(p.name for p in (site.folder / "metadata").iterdir()) == before


def test_a_canary_needs_a_live_bundle(tmp_path):
    keys = TestKeys.generate()
    with pytest.raises(NothingPublished, match="nothing is live on production"):
        tuf_repo.publish_canary(FolderStorage(tmp_path / "empty"), keys.root(), keys.source(), V2, "production",
                                0.1, Expiry())


def test_promote_makes_the_candidate_live_keeping_its_version(site):
    predicted = {"fraud_risk": {"metric": "decision_flip_rate", "value": 0.01, "rows": 100}}
    staged = site.canary(V2, 0.3, predicted=predicted)
    result = site.promote()
    assert result.changed and result.path == LIVE and result.version == staged.version + 1
    assert result.custom["version"] == staged.custom["version"]
    assert result.custom["predicted"] == tuf_repo.signable(predicted) and "canary" not in result.custom
    assert result.custom["promoted_from"] == {"target": CANDIDATE, "fraction": "0.3"}
    assert site.seen() == {LIVE: (V2.data, result.custom)}
    again = site.promote()
    assert not again.changed and again.written == [] and again.version == result.version
    assert any("no candidate on production" in note and "version 2" in note for note in again.notes)


def test_promote_refuses_a_candidate_other_than_the_measured_one(site):
    measured = site.canary(V2, 0.3)
    site.canary(V3, 0.3)
    with pytest.raises(CandidateChanged, match="not the measured"):
        site.promote(expect_sha256=measured.sha256)
    assert site.seen()[CANDIDATE][0] == V3.data and site.seen()[LIVE][0] == V1.data
    site.abort()
    with pytest.raises(CandidateChanged, match="aborted or replaced"):
        site.promote(expect_sha256=measured.sha256)


def test_a_guarded_promote_that_already_happened_is_a_no_op(site):
    measured = site.canary(V2, 0.3)
    site.promote(expect_sha256=measured.sha256)
    again = site.promote(expect_sha256=measured.sha256)
    assert not again.changed and any("already promoted" in note for note in again.notes)


def test_abort_removes_the_candidate_and_is_idempotent(site):
    staged = site.canary(V2, 0.3)
    result = site.abort()
    assert result.changed and result.version == staged.version + 1 and result.sha256 == staged.sha256
    seen = site.seen()
    assert set(seen) == {LIVE} and seen[LIVE][0] == V1.data
    again = site.abort()
    assert not again.changed and again.written == [] and any("nothing to abort" in n for n in again.notes)


def test_publishing_the_candidate_plainly_promotes_it(site):
    staged = site.canary(V2, 0.3)
    result = site.publish(V2)
    assert result.custom["version"] == staged.custom["version"] and "canary" not in result.custom
    assert any("promotes it" in note for note in result.notes)
    assert set(site.seen()) == {LIVE}


def test_publishing_another_bundle_leaves_the_candidate_baking(site):
    staged = site.canary(V2, 0.3)
    result = site.publish(V3)
    assert any("still bakes" in note and "30%" in note for note in result.notes)
    seen = site.seen()
    assert seen[LIVE][0] == V3.data and seen[CANDIDATE] == (V2.data, staged.custom)


def test_rollback_moves_only_the_live_bundle_and_gets_a_new_version(site):
    site.publish(V2)
    staged = site.canary(V3, 0.2)
    result = tuf_repo.rollback(site.storage, site.root, site.keys.source(), 1, "production", Expiry())
    assert result.custom["version"] == result.version == staged.version + 1 and result.custom["rollback_of"] == 1
    seen = site.seen()
    assert seen[LIVE][0] == V1.data and seen[CANDIDATE] == (V3.data, staged.custom)


# --- crash safety: a publish killed after each write ----------------------------------------------------------

def _copy(site: Site, tmp_path: Path) -> Site:
    """The same repository and keys in a new folder (a parametrized case must not share state)."""
    clone = Site(tmp_path / "copy", tmp_path / "copy-client", site.keys, site.root)
    shutil.copytree(site.folder, clone.folder)
    shutil.copytree(site.client_dir, clone.client_dir)
    return clone


def _killed(site: Site, allowed: int, step: str) -> SimulatedCrash | None:
    storage = CrashingStorage(FolderStorage(site.folder), allowed)
    keys = site.keys.source()
    try:
        if step == "canary":
            tuf_repo.publish_canary(storage, site.root, keys, V2, "production", 0.2, Expiry())
        elif step == "promote":
            tuf_repo.promote(storage, site.root, keys, "production", Expiry())
        else:
            tuf_repo.abort(storage, site.root, keys, "production", Expiry())
    except SimulatedCrash as exc:
        return exc
    return None


@pytest.mark.parametrize("step, writes", [("canary", 4), ("promote", 4), ("abort", 3)])
def test_a_rollout_step_killed_after_each_write_leaves_a_verifying_repository(site, tmp_path, step, writes):
    if step != "canary":
        site.canary(V2, 0.1)
    before = site.seen()
    for allowed in range(writes + 1):
        copy = _copy(site, tmp_path / str(allowed))
        crash = _killed(copy, allowed, step)
        assert (crash is None) == (allowed == writes)
        # Both a client that trusted the previous version and a new one verify a complete state: the previous
        # one until the timestamp is written, the new one after.
        expected = before if crash is not None else copy.seen(tmp_path / str(allowed) / "probe")
        assert copy.seen() == expected
        assert copy.seen(tmp_path / str(allowed) / "fresh") == expected
        # Running the step again (not killed) completes it over whatever the killed one left.
        assert _killed(copy, 99, step) is None
        assert CANDIDATE in copy.seen() if step == "canary" else CANDIDATE not in copy.seen()


# --- the replay's prediction ----------------------------------------------------------------------------------

def _report(*models: dict[str, Any]) -> dict[str, Any]:
    return {"command": "check", "format_version": 1, "models": list(models)}


def _model(name: str, kind: str, metrics: dict[str, Any] | None, rows: int = 100) -> dict[str, Any]:
    return {"name": name, "kind": kind, "impact": None if metrics is None else {"rows": rows, "metrics": metrics}}


def test_predictions_use_the_metric_each_kinds_shadow_room_names():
    from validator.kinds.scorecard.shadow import PREDICTED_BY as SCORECARD
    from validator.kinds.segments.shadow import PREDICTED_BY as SEGMENTS

    assert SCORECARD is not None and SEGMENTS is not None
    got = predictions(_report(
        _model("fraud_risk", "scorecard", {SCORECARD: 0.0125, "psi": 0.3}, rows=40000),
        _model("customer_segments", "segments", {SEGMENTS: 0.5}, rows=24000),
        _model("homepage_hero", "bandit", {"p_best.x.head": 0.9}),     # PREDICTED_BY None: random draws
        _model("unknown_kind_model", "no_such_kind", {"x": 1.0}),        # no shadow room at all
        _model("unchanged", "scorecard", None),                           # no replay ran
        _model("metric_missing", "scorecard", {"psi": 0.1}),
        _model("metric_undefined", "scorecard", {SCORECARD: None}),
    ))
    assert got == {
        "fraud_risk": {"metric": SCORECARD, "value": 0.0125, "rows": 40000},
        "customer_segments": {"metric": SEGMENTS, "value": 0.5, "rows": 24000},
    }


@pytest.mark.parametrize("content, words", [
    (None, "no such file"),
    ("{not json", "not JSON"),
    ("[1, 2]", "not a weights check JSON report"),
    ('{"command": "test", "cases": []}', "not a weights check JSON report"),
])
def test_a_bad_report_names_the_file_and_what_to_run(tmp_path, content, words):
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ReportError, match=words) as caught:
        read_predictions(path)
    assert str(path) in str(caught.value) and "weights check" in str(caught.value)


# --- the commands, as real processes in a real git repository ------------------------------------------------

PUBLISHED = ".weights/published"
DEMO_ROOT = ".weights/dev-keys/root.json"


def _weights(repo: Path, *args: str) -> tuple[int, str, str]:
    done = run_weights(*args, cwd=repo, timeout=300)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def _json(repo: Path, *args: str) -> dict[str, Any]:
    code, out, err = _weights(repo, *args, "--format", "json")
    assert code == 0, err
    return dict(json.loads(out))


def _client_sees(repo: Path, client_dir: Path) -> set[str]:
    """The targets python-tuf verifies at the repository's published folder, with its trust kept across calls."""
    root = (repo / DEMO_ROOT).read_bytes()
    with served(repo / PUBLISHED) as server:
        client = updater(client_dir, server.url, root)
        client.refresh()
        seen = set()
        for path in (LIVE, CANDIDATE):
            info = client.get_targetinfo(path)
            if info is not None:
                client.download_target(info)
                seen.add(path)
    return seen


@pytest.fixture(scope="module")
def cli_repo(tmp_path_factory) -> Path:
    """A git repository whose HEAD is published live, with one more commit ready to canary."""
    repo = make_repo(tmp_path_factory.mktemp("canary-cli") / "repo")
    code, _, err = _weights(repo, "publish", "--rev", "HEAD")
    assert code == 0, err
    change_weights(repo, 1)
    return repo


def test_canary_promote_and_abort_from_the_command_line(cli_repo, tmp_path):
    repo, client = cli_repo, tmp_path / "client"
    assert _client_sees(repo, client) == {LIVE}
    report = tmp_path / "report.json"
    report.write_text(json.dumps(_report(_model("fraud_risk", "scorecard", {"decision_flip_rate": 0.02}))))

    staged = _json(repo, "publish", "--canary", "0.1", "--report", str(report))
    salt = staged["custom"]["canary"]["salt"]
    assert staged["target"] == CANDIDATE and staged["custom"]["canary"]["fraction"] == "0.1"
    assert staged["custom"]["predicted"]["fraud_risk"]["value"] == "0.02"
    assert _client_sees(repo, client) == {LIVE, CANDIDATE}

    again = _json(repo, "publish", "--canary", "0.1")
    assert again["changed"] is False
    raised = _json(repo, "publish", "--canary", "0.3")
    assert raised["custom"]["canary"] == {"fraction": "0.3", "salt": salt}

    status = _json(repo, "status")
    channel = status["channels"]["production"]
    assert channel["version"] == 1 and channel["target"] == LIVE
    assert channel["candidate"]["canary"] == {"fraction": "0.3", "salt": salt}
    assert channel["candidate"]["version"] == staged["custom"]["version"]
    code, out, err = _weights(repo, "status")
    assert code == 0, err
    assert f"candidate {CANDIDATE} (version {staged['custom']['version']}) for 30% of clients" in out
    assert f"salt      {salt}" in out and "predicted fraud_risk: decision_flip_rate 2.00%" in out

    promoted = _json(repo, "promote")
    assert promoted["target"] == LIVE and promoted["custom"]["version"] == staged["custom"]["version"]
    assert _client_sees(repo, client) == {LIVE}
    code, out, err = _weights(repo, "promote")
    assert code == 0 and "unchanged" in out and "no candidate on production" in out, err

    change_weights(repo, 2)
    _json(repo, "publish", "--canary", "0.5")
    assert _client_sees(repo, client) == {LIVE, CANDIDATE}
    code, out, err = _weights(repo, "abort")
    assert code == 0 and "aborted" in out, err
    assert _client_sees(repo, client) == {LIVE}
    code, out, err = _weights(repo, "abort")
    assert code == 0 and "nothing to abort" in out, err


@pytest.mark.parametrize("args, code, words", [
    (("publish", "--canary", "1"), 2, "publish without --canary, or promote a running canary"),
    (("publish", "--canary", "0"), 2, "weights abort"),
    (("publish", "--canary", "0.1", "--report", "missing.json"), 2, "missing.json: no such file"),
    (("promote", "--if", "flip_rate <= 0.02"), 2, "--if needs --metrics"),
    (("promote", "--metrics", "http://127.0.0.1:9"), 2, "--metrics needs --if"),
    (("promote", "--if", "flip_rat <= 0.02", "--metrics", "http://127.0.0.1:9"), 2, "flip_rate"),
    (("promote", "--channel", "Bad Name"), 2, "bad channel name"),
    (("status", "--metrics", "http://127.0.0.1:9"), 2, "--metrics"),
])
def test_rollout_mistakes_exit_2_with_one_line_and_change_nothing(cli_repo, args, code, words):
    before = sorted(p.name for p in (cli_repo / PUBLISHED / "metadata").iterdir())
    got, out, err = _weights(cli_repo, *args)
    assert got == code and words in err and "Traceback" not in err, (out, err)
    assert sorted(p.name for p in (cli_repo / PUBLISHED / "metadata").iterdir()) == before


def test_a_canary_of_the_live_commit_is_refused(tmp_path):
    repo = make_repo(tmp_path / "repo")
    assert _weights(repo, "publish")[0] == 0
    code, out, err = _weights(repo, "publish", "--canary", "0.2")
    assert code == 2 and "nothing to canary" in err, (out, err)


def test_a_guarded_promote_without_a_candidate_reads_no_metrics(cli_repo):
    """Nothing bakes, so there is nothing to measure: the (closed) Prometheus port is never asked."""
    code, out, err = _weights(cli_repo, "promote", "--if", "flip_rate <= 0.02", "--metrics", "http://127.0.0.1:9")
    assert code == 0 and "no candidate on production" in out, err


def test_a_guarded_promote_with_unreachable_metrics_exits_2_and_keeps_the_candidate(tmp_path):
    repo = make_repo(tmp_path / "repo")
    assert _weights(repo, "publish")[0] == 0
    change_weights(repo, 1)
    assert _weights(repo, "publish", "--canary", "0.2")[0] == 0
    code, out, err = _weights(repo, "promote", "--if", "flip_rate <= 0.02", "--metrics", "http://127.0.0.1:9")
    assert code == 2 and "--metrics" in err and "Traceback" not in err, (out, err)
    assert _client_sees(repo, tmp_path / "client") == {LIVE, CANDIDATE}
