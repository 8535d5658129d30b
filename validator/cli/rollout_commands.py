"""The staged-rollout commands: promote and abort a canary (``weights publish --canary`` starts one).

Thin over ``validator.publish.repository`` (the signed operations) and, for a guarded promotion,
``validator.publish.guard`` and ``validator.publish.fleet`` (the fleet's measurements from Prometheus).
"""
from __future__ import annotations
