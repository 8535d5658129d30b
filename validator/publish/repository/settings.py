"""Publish settings: the ``publish:`` section of config/weights.yaml, and how options and environment override it.

Operator configuration, not part of any bundle: where to publish, which channel, where the keys are, and how
long each role's signature stays valid.
"""
from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator.publish.bundle import check_channel
from validator.publish.keys import DEFAULT_KEYS_DIR, ROLES

DEFAULT_TARGET = ".weights/published"
SETTINGS_KEYS = ("target", "channel", "keys_dir", "expires_days")


class PublishSettingsError(Exception):
    """The ``publish:`` section of config/weights.yaml is wrong: exit 2."""


@dataclass(frozen=True)
class Expiry:
    """How long each role's signature stays valid.

    The shorter a period, the sooner a client notices a frozen mirror (freeze attack) but the more often it
    must be re-signed: the timestamp by the scheduled ``weights refresh`` (daily), the snapshot and targets by
    the same job when half their period has passed, the root by a person with the offline key.
    """

    root: _dt.timedelta = _dt.timedelta(days=365)
    targets: _dt.timedelta = _dt.timedelta(days=90)
    snapshot: _dt.timedelta = _dt.timedelta(days=14)
    timestamp: _dt.timedelta = _dt.timedelta(days=2)

    def of(self, role: str) -> _dt.timedelta:
        period: _dt.timedelta = getattr(self, role)
        return period

    @classmethod
    def from_days(cls, data: Mapping[str, Any] | None) -> Expiry:
        data = data or {}
        if not isinstance(data, Mapping):
            raise PublishSettingsError("publish.expires_days must be a mapping of role: days")
        unknown = set(data) - set(ROLES)
        if unknown:
            raise PublishSettingsError(
                f"publish.expires_days: unknown role(s) {', '.join(sorted(unknown))}; roles: {', '.join(ROLES)}"
            )
        values: dict[str, _dt.timedelta] = {}
        for role in ROLES:
            if role not in data:
                continue
            days = data[role]
            if isinstance(days, bool) or not isinstance(days, (int, float)) or not days > 0 or days > 3660:
                raise PublishSettingsError(
                    f"publish.expires_days.{role}: {days!r} is not a number of days in (0, 3660]"
                )
            values[role] = _dt.timedelta(days=float(days))
        expiry = cls(**values)
        if expiry.timestamp > expiry.snapshot or expiry.snapshot > expiry.targets:
            raise PublishSettingsError("publish.expires_days: expect timestamp <= snapshot <= targets")
        return expiry


@dataclass(frozen=True)
class PublishSettings:
    """The ``publish:`` section of config/weights.yaml, with the embedded defaults."""

    target: str = DEFAULT_TARGET
    channel: str = "production"
    keys_dir: str = DEFAULT_KEYS_DIR
    expiry: Expiry = field(default_factory=Expiry)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> PublishSettings:
        data = data or {}
        if not isinstance(data, Mapping):
            raise PublishSettingsError("publish: must be a mapping (target, channel, keys_dir, expires_days)")
        unknown = set(data) - set(SETTINGS_KEYS)
        if unknown:
            raise PublishSettingsError(
                f"publish: unknown key(s) {', '.join(sorted(unknown))}; keys: target, channel, keys_dir, expires_days"
            )
        for key in ("target", "channel", "keys_dir"):
            if key in data and (not isinstance(data[key], str) or not data[key].strip()):
                raise PublishSettingsError(f"publish.{key} must be a non-empty string")
        channel = data.get("channel", cls.channel)
        try:
            check_channel(channel)
        except ValueError as exc:
            raise PublishSettingsError(f"publish.channel: {exc}") from None
        return cls(
            target=data.get("target", cls.target),
            channel=channel,
            keys_dir=data.get("keys_dir", cls.keys_dir),
            expiry=Expiry.from_days(data.get("expires_days")),
        )


def publish_settings(root: Path) -> PublishSettings:
    """The publish settings of the work tree (operator configuration, not part of any bundle)."""
    from validator.gate.settings import SETTINGS_FILE, SettingsError, load_settings

    path = Path(root) / SETTINGS_FILE
    try:
        settings = load_settings(path.read_bytes() if path.is_file() else None)
    except SettingsError as exc:
        raise PublishSettingsError(str(exc)) from None
    return PublishSettings.from_mapping(settings.raw.get("publish"))


def target_spec(option: str | None, settings: PublishSettings | None,
                env: Mapping[str, str] | None = None) -> str | None:
    """Where a command publishes: ``--to``/``--dir``/``--url``, else ``$WEIGHTS_PUBLISH_TO``, else publish.target.

    None outside a repository when neither an option nor the environment names one.
    """
    env = os.environ if env is None else env
    return option or env.get("WEIGHTS_PUBLISH_TO") or (settings.target if settings else None)


def keys_dir_of(root: Path, option: str | None, settings: PublishSettings,
                env: Mapping[str, str] | None = None) -> Path:
    """The folder of private keys: ``--keys-dir``, else ``$WEIGHTS_KEYS_DIR``, else publish.keys_dir (relative
    paths are relative to the repository, so a command run from a sub-folder finds the same keys)."""
    env = os.environ if env is None else env
    chosen = option or env.get("WEIGHTS_KEYS_DIR") or settings.keys_dir
    path = Path(chosen).expanduser()
    return path if path.is_absolute() else Path(root) / path
