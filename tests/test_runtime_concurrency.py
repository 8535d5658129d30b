"""Hot reload under load: reader threads evaluate without pause while the poll thread swaps many bundles in.
Zero errors, and every result consistent with exactly one bundle version."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from publish_helpers import served
from runtime_helpers import ORDER, Site, app_contracts, base_document, document, n_of_score, wait_for

from validator.kinds import compile_model
from validator.kinds.contract import Contract
from validator.runtime import WeightsClient

READERS = 4
PUBLISHES = 20
# Every WAITED-th publish, the publisher waits until the client serves it and every reader has evaluated it:
# so at least PUBLISHES / WAITED reloads happen under the readers, whatever the machine's speed.
WAITED = 3
# The upper bound of each of those waits: only a client or reader that never gets there fails.
WAIT = 120.0


def base_z() -> float:
    """fraud_risk's z for ORDER minus its intercept, from the base bundle (the variants differ in the intercept)."""
    doc = base_document()
    contract = Contract.from_dict("checkout", doc["contracts"]["checkout"])
    model = compile_model(doc["models"]["fraud_risk"], contract)
    return model.z(ORDER) - doc["models"]["fraud_risk"]["intercept"]


def test_readers_never_see_a_torn_or_mixed_bundle(tmp_path: Path):
    site = Site(tmp_path / "site")
    n_of_version = {site.publish(document(0)): 0}
    z0 = base_z()
    stop = threading.Event()
    errors: list[BaseException] = []
    results: list[list[tuple[str, float, str, str]]] = [[] for _ in range(READERS)]

    def read(out: list) -> None:
        try:
            while not stop.is_set():
                snap = c.snapshot                      # one bundle for this "request"
                fraud = snap.model("fraud_risk").score(ORDER)
                churn = snap.model("churn_coupon")
                out.append((fraud.version, fraud.value, churn.version, snap.version))
                single = c.model("fraud_risk").score(ORDER)  # the short form, alone
                out.append((single.version, single.value, single.version, single.version))
                time.sleep(0)  # a request's IO: lets the poll thread and the publisher have the GIL too
        except BaseException as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)

    with served(site.folder) as server:
        with WeightsClient(server.url, site.root, tmp_path / "cache", interval=0.005, jitter=0.5,
                           contract=app_contracts()) as c:
            assert c.wait_ready(WAIT)
            threads = [threading.Thread(target=read, args=(results[i],)) for i in range(READERS)]
            for t in threads:
                t.start()
            for n in range(1, PUBLISHES + 1):
                version = site.publish(document(n))
                n_of_version[version] = n
                if n % WAITED == 0 or n == PUBLISHES:
                    live = str(version)
                    wait_for(lambda: c.version == live, timeout=WAIT)  # noqa: B023 - called before live changes
                    # ...and every reader has scored with it (or died, which the assertions below report)
                    wait_for(lambda: errors or all(out and out[-1][0] == live for out in results),  # noqa: B023
                             timeout=WAIT)
            stop.set()
            for t in threads:
                t.join(WAIT)
            assert not any(t.is_alive() for t in threads), "a reader did not stop"
            reloads = c.status().reloads

    assert not errors, errors
    waited = PUBLISHES // WAITED + (PUBLISHES % WAITED != 0)
    assert reloads >= 1 + waited, reloads
    for out in results:
        versions_seen = set()
        for fraud_version, value, other_version, snap_version in out:
            assert fraud_version == other_version == snap_version  # one bundle per request, never a mixture
            assert n_of_score(value, z0) == n_of_version[int(fraud_version)], (fraud_version, value)
            versions_seen.add(fraud_version)
        assert len(versions_seen) >= 1 + waited, versions_seen  # each reader read across every waited reload
