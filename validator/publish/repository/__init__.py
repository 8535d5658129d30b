"""The published TUF repository, split by job.

* ``settings``: the ``publish:`` section of config/weights.yaml (where, which channel, key folder, expiries);
* ``metadata``: the file layout, serialization and the checks one metadata file must pass;
* ``staging``: the live repository loaded verified from the trust root, and the next version staged on it;
* ``operations``: publish, the canary (publish_canary, promote, abort), rollback, refresh, key rotation and the
  first root;
* ``status``: what is live, verified as an app's TUF client would.

This module is the public API: the CLI, the tests and the benches import from here. Keys come from
``validator.publish.keys``, storage from ``validator.publish.storage``, the trust policy (which root, demo keys)
from ``validator.publish.trust``.
"""
from __future__ import annotations

from validator.publish.repository.metadata import (
    HASH,
    NothingPublished,
    RepositoryStateError,
    content_file,
    iso,
    role_file,
    role_keys,
    utc_now,
)
from validator.publish.repository.operations import (
    Candidate,
    CandidateChanged,
    PublishResult,
    RotateResult,
    abort,
    already_live,
    as_number,
    bundle_custom,
    candidate_of,
    check_fraction,
    init_root,
    promote,
    publish,
    publish_canary,
    refresh,
    rollback,
    rotate,
    signable,
)
from validator.publish.repository.settings import (
    DEFAULT_TARGET,
    Expiry,
    PublishSettings,
    PublishSettingsError,
    keys_dir_of,
    publish_settings,
    target_spec,
)
from validator.publish.repository.staging import TufRepository
from validator.publish.repository.status import (
    RoleStatus,
    Status,
    StorageFetcher,
    repository_status,
)

__all__ = [
    "Candidate", "CandidateChanged", "DEFAULT_TARGET", "Expiry", "HASH", "NothingPublished", "PublishResult",
    "PublishSettings", "PublishSettingsError", "RepositoryStateError", "RoleStatus", "RotateResult", "Status",
    "StorageFetcher", "TufRepository", "abort", "already_live", "as_number", "bundle_custom", "candidate_of",
    "check_fraction", "content_file", "init_root", "iso", "keys_dir_of", "promote", "publish", "publish_canary",
    "publish_settings", "refresh", "repository_status", "role_file", "role_keys", "rollback", "rotate", "signable",
    "target_spec", "utc_now",
]
