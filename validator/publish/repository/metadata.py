"""One metadata file of the repository: its name in the layout, its bytes, and the checks it must pass.

Layout (the convention every TUF client expects, with consistent snapshots)::
    metadata/1.root.json  2.root.json ...     every root version, immutable (clients walk the chain)
    metadata/<N>.targets.json                 immutable, one per version
    metadata/<N>.snapshot.json                immutable, one per version
    metadata/timestamp.json                   the only file ever rewritten in place
    targets/<channel>/<sha256>.bundle.json    content-addressed bundles, immutable

Every signature and structure goes through python-tuf's Metadata API (``tuf.api.metadata``): nothing here
parses or verifies by hand.
"""
from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from tuf.api.exceptions import LengthOrHashMismatchError, UnsignedMetadataError
from tuf.api.metadata import Metadata, MetaFile, Root, TargetFile
from tuf.api.serialization.json import JSONSerializer

METADATA_DIR = "metadata"
TARGETS_DIR = "targets"
HASH = "sha256"
ROOT_FILE = re.compile(r"^([1-9][0-9]*)\.root\.json$")


class RepositoryStateError(Exception):
    """The published repository is inconsistent, tampered with, or descends from another trust root.

    The repository's content is at fault (exit 1): publishing on top of it would sign what we did not write.
    """


class NothingPublished(Exception):
    """The command needs a published repository and the location has none: the operator's to fix (exit 2)."""


def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)


def iso(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def serialize(md: Metadata) -> bytes:
    """Indented and key-sorted: an operator can read it, and the same metadata always gives the same bytes."""
    return md.to_bytes(JSONSerializer(compact=False))


def parse(data: bytes, name: str, expected_type: str) -> Metadata:
    """``data`` as metadata of ``expected_type``; anything else is the repository's fault, named by ``name``."""
    try:
        md = Metadata.from_bytes(data)
    except Exception as exc:  # noqa: BLE001 - any parse failure means the file is not what it claims
        raise RepositoryStateError(f"{name} is not valid TUF metadata: {exc}") from None
    if md.signed.type != expected_type:
        raise RepositoryStateError(f"{name} holds {md.signed.type} metadata, not {expected_type}")
    return md


def role_file(role: str, version: int | None) -> str:
    return f"{METADATA_DIR}/{role}.json" if version is None else f"{METADATA_DIR}/{version}.{role}.json"


def content_file(path: str, sha256: str) -> str:
    """Where the bytes of target ``path`` live: consistent snapshots prefix the file name with its hash."""
    folder, _, name = path.rpartition("/")
    return f"{TARGETS_DIR}/{folder}/{sha256}.{name}" if folder else f"{TARGETS_DIR}/{sha256}.{name}"


def meta_of(data: bytes, version: int) -> MetaFile:
    """Length and hash as well as the version: a client then refuses any other file under that name."""
    return MetaFile.from_data(version, data, [HASH])


def check_meta(meta: MetaFile | TargetFile, data: bytes, name: str) -> None:
    try:
        meta.verify_length_and_hashes(data)
    except LengthOrHashMismatchError as exc:
        raise RepositoryStateError(f"{name} does not match what the metadata above it says: {exc}") from None


def verify_signed(root: Root, role: str, md: Metadata, name: str) -> None:
    try:
        root.verify_delegate(role, md.signed_bytes, md.signatures)
    except UnsignedMetadataError as exc:
        raise RepositoryStateError(
            f"{name} is not signed by the {role} key(s) root v{root.version} trusts ({exc}): it was tampered "
            "with, or written with other keys"
        ) from None


def signed_by(root: Root, role: str, md: Metadata) -> bool:
    try:
        root.verify_delegate(role, md.signed_bytes, md.signatures)
        return True
    except (UnsignedMetadataError, ValueError):
        return False


def verify_root_step(trusted: Metadata, new: Metadata, name: str) -> None:
    """TUF's rule for a new root: signed by a threshold of the old root's keys and of its own."""
    if new.signed.version != trusted.signed.version + 1:
        raise RepositoryStateError(f"{name} is version {new.signed.version}, expected {trusted.signed.version + 1}")
    try:
        trusted.signed.verify_delegate("root", new.signed_bytes, new.signatures)
        new.signed.verify_delegate("root", new.signed_bytes, new.signatures)
    except UnsignedMetadataError as exc:
        raise RepositoryStateError(f"{name} is not signed by the previous root's keys and its own: {exc}") from None


def role_keys(root: Root, role: str) -> dict[str, Any]:
    """Key id -> public key of every key ``root`` trusts for ``role``."""
    return {kid: root.keys[kid] for kid in root.roles[role].keyids}
