"""Signing keys: where private keys come from, how new ones are made, and which trust root applies.

Four TUF roles sign a weights repository. ``root`` says which keys the other three have and is kept offline
(an operator's machine or a hardware token); ``targets`` (what the bundle is), ``snapshot`` (which targets
metadata is current) and ``timestamp`` (freshness, re-signed by the scheduled job) are the online keys that CI
holds. All keys are ed25519 by default, generated and used only through securesystemslib's ``CryptoSigner``:
no cryptography is written here.

Where a role's private key is looked up, first match wins:

1. ``WEIGHTS_KEY_<ROLE>``: the PEM text itself (a CI secret);
2. ``WEIGHTS_KEY_<ROLE>_FILE``: a path to a PEM file;
3. ``WEIGHTS_KEY_<ROLE>_URI``: a securesystemslib signer URI (``file2:``, or ``gcpkms:``/``awskms:``/``hsm:``
   with the matching securesystemslib extra installed) for keys that never leave a KMS or token;
4. ``<keys dir>/<role>.pem``: the keys dir is ``--keys-dir``, else ``WEIGHTS_KEYS_DIR``, else the repository
   setting ``publish.keys_dir`` (default ``.weights/keys``, git-ignored).

Private keys are never printed, logged or put in an exception message; only key ids (public) are.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from validator.atomic import write_atomic

if TYPE_CHECKING:  # pragma: no cover
    from securesystemslib.signer import Key, Signer

ROLES = ("root", "targets", "snapshot", "timestamp")
ONLINE_ROLES = ("targets", "snapshot", "timestamp")
DEFAULT_KEYS_DIR = ".weights/keys"
# Dev keys for the local demo live apart from the team's keys, so the two can never be confused.
DEV_KEYS_DIR = ".weights/dev-keys"
DEV_ROOT_NAME = "root.json"


class KeyProblem(Exception):
    """A signing key is missing, unreadable, or not the one the trust root names: the operator's to fix (exit 2)."""


def env_name(role: str) -> str:
    return f"WEIGHTS_KEY_{role.upper()}"


def short(keyid: str) -> str:
    return keyid[:12]


@dataclass
class KeySource:
    """Where this process finds private keys (see the module docstring for the order)."""

    keys_dir: Path | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def where(self, role: str) -> str | None:
        """A human description of where ``role``'s key would come from, or None when it is nowhere."""
        name = env_name(role)
        if self.env.get(name):
            return f"${name}"
        if self.env.get(f"{name}_FILE"):
            return f"${name}_FILE ({self.env[f'{name}_FILE']})"
        if self.env.get(f"{name}_URI"):
            return f"${name}_URI"
        if self.keys_dir is not None and (self.keys_dir / f"{role}.pem").is_file():
            return str(self.keys_dir / f"{role}.pem")
        return None

    def has(self, role: str) -> bool:
        return self.where(role) is not None

    def signer(self, role: str, trusted: Mapping[str, "Key"]) -> "Signer":
        """The signer for ``role``; its key must be one of ``trusted`` (key id -> public key from the root)."""
        from securesystemslib.signer import CryptoSigner, Signer, SSlibKey

        where = self.where(role)
        if where is None:
            raise KeyProblem(missing_key_message(role, self.keys_dir))
        name = env_name(role)
        uri = self.env.get(f"{name}_URI") if not self.env.get(name) and not self.env.get(f"{name}_FILE") else None
        if uri:
            if len(trusted) != 1:
                raise KeyProblem(f"{where}: the root trusts {len(trusted)} {role} keys; a signer URI needs exactly one")
            (public,) = trusted.values()
            try:
                return Signer.from_priv_key_uri(uri, public)
            except Exception as exc:  # noqa: BLE001 - any driver error is the operator's to fix
                raise KeyProblem(f"cannot load the {role} key from {where}: {type(exc).__name__}") from None
        pem = self._pem(role, where)
        private = load_private_key(pem, role, where)
        public = _public_of(private)
        if public.keyid not in trusted:
            names = ", ".join(short(k) for k in trusted) or "none"
            raise KeyProblem(
                f"the {role} key from {where} (key id {short(public.keyid)}) is not one the root trusts for "
                f"{role} ({names}): wrong key, or it was rotated out (weights keys rotate {role})"
            )
        key = trusted[public.keyid]
        # The root's keys load as SSlibKey for every key type a PEM private key can be (Key.from_dict).
        assert isinstance(key, SSlibKey)
        return CryptoSigner(private, key)

    def _pem(self, role: str, where: str) -> bytes:
        name = env_name(role)
        if self.env.get(name):
            return self.env[name].encode("utf-8")
        if self.env.get(f"{name}_FILE"):
            path = Path(self.env[f"{name}_FILE"]).expanduser()
        else:
            assert self.keys_dir is not None
            path = self.keys_dir / f"{role}.pem"
        try:
            return path.read_bytes()
        except OSError as exc:
            raise KeyProblem(f"cannot read the {role} key {where}: {exc.strerror or exc}") from None


def missing_key_message(role: str, keys_dir: Path | None) -> str:
    name = env_name(role)
    place = f" or put {role}.pem in {keys_dir}" if keys_dir is not None else ""
    return f"no {role} key: set {name} (the PEM text) or {name}_FILE (a path){place}"


def load_private_key(pem: bytes, role: str, where: str):  # -> PrivateKeyTypes
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return load_pem_private_key(pem, password=None)
    except TypeError:
        raise KeyProblem(
            f"the {role} key from {where} is encrypted; give it unencrypted through a secret store"
        ) from None
    except Exception:  # noqa: BLE001 - never echo key material (parser messages may), only say it is not a key
        raise KeyProblem(f"the {role} key from {where} is not a PEM private key") from None


def _public_of(private) -> "Key":
    from securesystemslib.signer import SSlibKey

    try:
        return SSlibKey.from_crypto(private.public_key())
    except ValueError as exc:
        raise KeyProblem(f"unsupported key type: {exc}") from None


def generate():  # -> CryptoSigner
    """A new ed25519 key pair (securesystemslib generates it with pyca/cryptography)."""
    from securesystemslib.signer import CryptoSigner

    return CryptoSigner.generate_ed25519()


def write_private_key(path: Path, signer) -> None:
    """Write ``signer``'s private key as PEM, owner-only (0600) in an owner-only (0700) folder."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, stat.S_IRWXU)
        write_atomic(path, signer.private_bytes, mode=stat.S_IRUSR | stat.S_IWUSR)
    except OSError as exc:
        raise KeyProblem(f"cannot write the private key {path}: {exc.strerror or exc}") from None


def check_outside_git(path: Path) -> None:
    """Refuse a key path that git would track: private keys never enter a repository.

    Fine: a folder outside every git work tree, or one that .gitignore covers (``.weights/`` is).
    """
    import git  # the gate only

    path = Path(path).expanduser().absolute()
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        repo = git.Repo(probe, search_parent_directories=True)
        top = Path(repo.working_tree_dir or "").resolve()
        relative = path.resolve().relative_to(top).as_posix()
        ignored = bool(repo.ignored(relative))
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return  # not inside a git work tree
    except git.GitCommandError:
        return
    if not ignored:
        raise KeyProblem(
            f"refusing to write private keys to {path}: git would track it. Use a folder outside the repository "
            f"(--keys-dir ~/.weights-keys) or one listed in .gitignore (e.g. {DEFAULT_KEYS_DIR})"
        )
