"""The app-side runtime stays light: importing and using it loads nothing of the gate."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from runtime_helpers import ORDER, base_document
from slim_app import golden_requests

from validator.extras import EXTRA_MODULES

PROJECT = Path(__file__).resolve().parents[1]
# Every module an extra brings (the gate's, the agent's, pandas, prometheus-client ...), and PyYAML, which the
# base install has but only load_contract of a YAML file needs.
GATE = tuple(sorted({"yaml", *(m for modules in EXTRA_MODULES.values() for m in modules)}))

SCRIPT = r"""
import json, sys
sys.path.insert(0, "tests")
import validator.runtime
from validator.runtime import WeightsClient, build_snapshot
from slim_app import answers
data = open(sys.argv[1], "rb").read()
snap = build_snapshot(data, version="7", sha256="x", source="cache", loaded_at=0.0)
score = snap.model("fraud_risk").score(json.loads(sys.argv[2]))
answers(snap, json.loads(sys.argv[5]))  # one call of every kind: score, rank, choose, assign, lookup
client = WeightsClient("http://127.0.0.1:9/", sys.argv[3], sys.argv[4], interval=1.0)
client.status()
gate = [m for m in %r if m in sys.modules or any(k.startswith(m + ".") for k in sys.modules)]
print(json.dumps({"gate": gate, "version": score.version}))
"""


def test_the_runtime_imports_nothing_of_the_gate(tmp_path):
    from runtime_helpers import Site

    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(base_document()))
    root = tmp_path / "root.json"
    root.write_bytes(Site(tmp_path / "site").root)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT % (GATE,), str(bundle), json.dumps(ORDER), str(root), str(tmp_path / "cache"),
         json.dumps(golden_requests())],
        cwd=PROJECT, capture_output=True, text=True, timeout=300, check=True,  # a bound for a hang only
    )
    result = json.loads(out.stdout)
    assert result == {"gate": [], "version": "7"}, out.stderr
