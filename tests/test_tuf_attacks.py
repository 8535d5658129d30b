"""Attacks on a served repository, each judged by python-tuf's ngclient.Updater: it must refuse, for the reason
TUF names. The repository is made by our publisher; the attacks are made with python-tuf's Metadata API.
"""
from __future__ import annotations

import datetime as dt
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from publish_helpers import BUNDLE, TestKeys, fake_bundle, fetch, served
from tuf.api import exceptions
from tuf.api.metadata import Metadata, MetaFile, TargetFile
from tuf.api.serialization.json import JSONSerializer
from tuf.ngclient import UpdaterConfig

from validator.publish import repository as tuf_repo
from validator.publish.keys import generate
from validator.publish.repository import Expiry, content_file
from validator.publish.storage import FolderStorage

V1, V2 = fake_bundle("v1").data, fake_bundle("v2").data


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A repository with versions 1 and 2, and a copy of it as it was at version 1."""
    base = tmp_path_factory.mktemp("attacks")
    keys = TestKeys.generate()
    root = keys.root()
    site = base / "site"
    tuf_repo.publish(FolderStorage(site), root, keys.source(), fake_bundle("v1"), "production", Expiry())
    shutil.copytree(site, base / "site-v1")
    tuf_repo.publish(FolderStorage(site), root, keys.source(), fake_bundle("v2"), "production", Expiry())
    return keys, root, site, base / "site-v1"


@pytest.fixture
def site(published, tmp_path):
    keys, root, original, _ = published
    copy = tmp_path / "site"
    shutil.copytree(original, copy)
    return copy


def load(site: Path, name: str) -> Metadata:
    return Metadata.from_bytes((site / "metadata" / name).read_bytes())


def write(site: Path, name: str, md: Metadata, *signers) -> bytes:
    md.signatures.clear()
    for signer in signers:
        md.sign(signer, append=True)
    data = md.to_bytes(JSONSerializer(compact=False))
    (site / "metadata" / name).write_bytes(data)
    return data


def forge_chain(site: Path, targets_md: Metadata, targets_signer, snapshot_signer, timestamp_signer,
                targets_version: int = 3) -> None:
    """Write targets -> snapshot -> timestamp (version 3) over the live repository with the given signers."""
    targets_md.signed.version = targets_version
    data = write(site, f"{targets_version}.targets.json", targets_md, targets_signer)
    snapshot = load(site, "2.snapshot.json")
    snapshot.signed.version = 3
    snapshot.signed.meta["targets.json"] = MetaFile.from_data(targets_version, data, ["sha256"])
    snap_data = write(site, "3.snapshot.json", snapshot, snapshot_signer)
    timestamp = load(site, "timestamp.json")
    timestamp.signed.version = 3
    timestamp.signed.snapshot_meta = MetaFile.from_data(3, snap_data, ["sha256"])
    write(site, "timestamp.json", timestamp, timestamp_signer)


def evil_targets(site: Path) -> Metadata:
    """Targets that point production/bundle.json at the attacker's bytes (stored where a client looks)."""
    evil = b'{"format_version":1,"note":"evil"}'
    info = TargetFile.from_data(BUNDLE, evil, ["sha256"])
    path = site / content_file(BUNDLE, info.hashes["sha256"])
    path.write_bytes(evil)
    md = load(site, "2.targets.json")
    md.signed.targets[BUNDLE] = info
    return md


def test_the_unattacked_repository_serves_version_2(published, site, tmp_path):
    _, root, _, _ = published
    with served(site) as server:
        assert fetch(tmp_path / "c", server.url, root) == V2


# --- tampering ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("change", ["same length", "longer", "shorter"])
def test_modified_bundle_is_refused(published, site, tmp_path, change):
    _, root, _, _ = published
    content = site / content_file(BUNDLE, TargetFile.from_data(BUNDLE, V2, ["sha256"]).hashes["sha256"])
    assert content.read_bytes() == V2
    bad = {"same length": V2.replace(b"v2", b"v9"), "longer": V2 + b" ", "shorter": V2[:-1]}[change]
    content.write_bytes(bad)
    expected = exceptions.DownloadLengthMismatchError if change == "longer" else exceptions.LengthOrHashMismatchError
    with served(site) as server, pytest.raises(expected):
        fetch(tmp_path / "c", server.url, root)


def test_metadata_signed_by_an_unknown_key_is_refused(published, site, tmp_path):
    """An attacker who can write the mirror but holds none of our keys signs everything with their own."""
    _, root, _, _ = published
    stranger = TestKeys.generate().signers
    forge_chain(site, evil_targets(site), stranger["targets"], stranger["snapshot"], stranger["timestamp"])
    with served(site) as server, pytest.raises(exceptions.UnsignedMetadataError, match="timestamp"):
        fetch(tmp_path / "c", server.url, root)


def test_bundle_signed_by_an_unknown_targets_key_is_refused(published, site, tmp_path):
    """Even with the online snapshot and timestamp keys, a bundle needs the targets key the root names."""
    keys, root, _, _ = published
    stranger = generate()
    forge_chain(site, evil_targets(site), stranger, keys.signers["snapshot"], keys.signers["timestamp"])
    with served(site) as server, pytest.raises(exceptions.UnsignedMetadataError, match="targets"):
        fetch(tmp_path / "c", server.url, root)


def test_root_signed_by_an_unknown_key_is_refused(published, site, tmp_path):
    _, root, _, _ = published
    stranger = TestKeys.generate()
    md = Metadata.from_bytes(root)
    md.signed.version = 2
    for kid in list(md.signed.roles["root"].keyids):
        md.signed.revoke_key(kid, "root")
    md.signed.add_key(stranger.signers["root"].public_key, "root")
    write(site, "2.root.json", md, stranger.signers["root"])
    with served(site) as server, pytest.raises(exceptions.UnsignedMetadataError, match="root"):
        fetch(tmp_path / "c", server.url, root)


# --- rollback (replay of older metadata) --------------------------------------------------------------------

def test_replayed_older_timestamp_is_refused(published, site, tmp_path):
    """A mirror that serves yesterday's repository to a client that has seen today's."""
    _, root, _, old = published
    client = tmp_path / "c"
    with served(site) as server:
        assert fetch(client, server.url, root) == V2
    with served(old) as server, pytest.raises(exceptions.BadVersionNumberError, match="timestamp"):
        fetch(client, server.url, root)


def test_replayed_older_snapshot_is_refused(published, site, tmp_path):
    keys, root, _, _ = published
    client = tmp_path / "c"
    with served(site) as server:
        assert fetch(client, server.url, root) == V2
        timestamp = load(site, "timestamp.json")
        timestamp.signed.version = 3
        old_snapshot = (site / "metadata" / "1.snapshot.json").read_bytes()
        timestamp.signed.snapshot_meta = MetaFile.from_data(1, old_snapshot, ["sha256"])
        write(site, "timestamp.json", timestamp, keys.signers["timestamp"])
        with pytest.raises(exceptions.BadVersionNumberError, match="snapshot"):
            fetch(client, server.url, root)


def test_replayed_older_targets_is_refused(published, site, tmp_path):
    keys, root, _, _ = published
    client = tmp_path / "c"
    with served(site) as server:
        assert fetch(client, server.url, root) == V2
        old_targets = (site / "metadata" / "1.targets.json").read_bytes()
        snapshot = load(site, "2.snapshot.json")
        snapshot.signed.version = 3
        snapshot.signed.meta["targets.json"] = MetaFile.from_data(1, old_targets, ["sha256"])
        snap = write(site, "3.snapshot.json", snapshot, keys.signers["snapshot"])
        timestamp = load(site, "timestamp.json")
        timestamp.signed.version = 3
        timestamp.signed.snapshot_meta = MetaFile.from_data(3, snap, ["sha256"])
        write(site, "timestamp.json", timestamp, keys.signers["timestamp"])
        with pytest.raises(exceptions.BadVersionNumberError, match="targets"):
            fetch(client, server.url, root)


# --- freeze (expired metadata) ------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["timestamp", "snapshot", "targets", "root"])
def test_expired_metadata_is_refused(tmp_path, role):
    """A frozen mirror keeps serving metadata whose validity has run out; the client notices."""
    keys = TestKeys.generate()
    past = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(days=30)
    year = dt.timedelta(days=365)
    expiry = Expiry(**{**dict.fromkeys(("root", "targets", "snapshot", "timestamp"), year), role: dt.timedelta(days=1)})
    root = keys.root(expiry, past)
    tuf_repo.publish(FolderStorage(tmp_path / "site"), root, keys.source(), fake_bundle("v1"), "production", expiry,
                     now=past)
    with served(tmp_path / "site") as server, pytest.raises(exceptions.ExpiredMetadataError, match=role):
        fetch(tmp_path / "c", server.url, root)


def test_refresh_ends_the_freeze(tmp_path):
    keys = TestKeys.generate()
    past = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(days=3)
    root = keys.root(Expiry(), past)
    storage = FolderStorage(tmp_path / "site")
    tuf_repo.publish(storage, root, keys.source(), fake_bundle("v1"), "production", Expiry(), now=past)
    with served(tmp_path / "site") as server:
        with pytest.raises(exceptions.ExpiredMetadataError):
            fetch(tmp_path / "c", server.url, root)
        tuf_repo.refresh(storage, root, keys.source(("timestamp",)), Expiry())
        assert fetch(tmp_path / "c2", server.url, root) == V1


# --- mix and match ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("swap", [("2.targets.json", "1.targets.json"), ("2.snapshot.json", "1.snapshot.json")])
def test_snapshot_mixing_versions_is_refused(published, site, tmp_path, swap):
    """Files of different versions served together: each file's hash is pinned by the one above it."""
    _, root, _, _ = published
    current, older = swap
    (site / "metadata" / current).write_bytes((site / "metadata" / older).read_bytes())
    refused = (exceptions.LengthOrHashMismatchError, exceptions.BadVersionNumberError)
    with served(site) as server, pytest.raises(refused):
        fetch(tmp_path / "c", server.url, root)


# --- endless data -------------------------------------------------------------------------------------------

class EndlessServer:
    """Serves ``folder`` but answers ``endless`` (a path) with data that never stops."""

    def __init__(self, folder: Path, endless: str) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == endless:
                    self.send_response(200)
                    self.end_headers()
                    chunk = b"x" * 65536
                    try:
                        while not outer.stopping.is_set():
                            self.wfile.write(chunk)
                    except OSError:
                        return
                    return
                file = folder / self.path.lstrip("/")
                if not file.is_file():
                    self.send_error(404)
                    return
                data = file.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.stopping = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("name", ["metadata/timestamp.json", "metadata/2.root.json", "metadata/2.snapshot.json",
                                  "metadata/2.targets.json", "bundle"])
def test_endless_data_is_cut_off(published, site, tmp_path, name):
    _, root, _, _ = published
    if name == "bundle":
        info = TargetFile.from_data(BUNDLE, V2, ["sha256"])
        name = content_file(BUNDLE, info.hashes["sha256"])
    # Small limits keep the test fast; the defaults (16 KiB timestamp, 512 KB root...) work the same way.
    config = UpdaterConfig(root_max_length=64 * 1024, timestamp_max_length=16 * 1024)
    with EndlessServer(site, "/" + name) as url, pytest.raises(exceptions.DownloadLengthMismatchError):
        fetch(tmp_path / "c", url, root, config=config)


# --- key rotation -------------------------------------------------------------------------------------------

def test_a_key_rotated_out_is_refused(published, site, tmp_path):
    """After `keys rotate targets`, the old targets key (say it leaked) no longer signs anything a client takes,
    even for a client that still ships the first root."""
    keys, root, _, _ = published
    client = tmp_path / "c"
    with served(site) as server:
        assert fetch(client, server.url, root) == V2
        result = tuf_repo.rotate(FolderStorage(site), root, keys.source(), "targets", generate(), Expiry())
        assert result.root_version == 3
        assert fetch(client, server.url, root) == V2  # the legitimate repository still verifies
        # Versions after the rotation: targets 3, snapshot 3, timestamp 3. The attacker writes version 4.
        old_key = keys.signers["targets"]
        targets = evil_targets(site)
        targets.signed.version = 4
        data = write(site, "4.targets.json", targets, old_key)
        snapshot = load(site, "3.snapshot.json")
        snapshot.signed.version = 4
        snapshot.signed.meta["targets.json"] = MetaFile.from_data(4, data, ["sha256"])
        snap = write(site, "4.snapshot.json", snapshot, keys.signers["snapshot"])
        timestamp = load(site, "timestamp.json")
        timestamp.signed.version = 4
        timestamp.signed.snapshot_meta = MetaFile.from_data(4, snap, ["sha256"])
        write(site, "timestamp.json", timestamp, keys.signers["timestamp"])
        for who in (client, tmp_path / "fresh"):
            with pytest.raises(exceptions.UnsignedMetadataError, match="targets"):
                fetch(who, server.url, root)


def test_rotating_the_root_key(published, site, tmp_path):
    keys, root, _, _ = published
    new_root_key = generate()
    with served(site) as server:
        result = tuf_repo.rotate(FolderStorage(site), root, keys.source(), "root", new_root_key, Expiry())
        assert result.root_version == 2
        assert fetch(tmp_path / "c", server.url, root) == V2
        # The old root key can no longer make a root the client accepts.
        md = Metadata.from_bytes(result.root)
        md.signed.version = 3
        write(site, "3.root.json", md, keys.signers["root"])
        with pytest.raises(exceptions.UnsignedMetadataError, match="root"):
            fetch(tmp_path / "c2", server.url, root)
