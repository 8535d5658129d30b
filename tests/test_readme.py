"""The README is part of the product: its commands and its rule reference must match the code."""
from __future__ import annotations

from pathlib import Path

from validator.rules import ALL_RULES
from validator.rules.reference import BUILTIN, with_reference

README = Path(__file__).resolve().parents[1] / "README.md"


def test_rule_reference_is_current():
    text = README.read_text(encoding="utf-8")
    assert with_reference(text) == text, "run: weights rules --update-readme README.md"


def test_every_rule_id_is_in_the_readme():
    text = README.read_text(encoding="utf-8")
    missing = [r.id for r in ALL_RULES if f"`{r.id}`" not in text] + [b[0] for b in BUILTIN if f"`{b[0]}`" not in text]
    assert not missing


def test_readme_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(commands) == 2
    assert "pip install" in commands[0] and ".venv/bin/weights" in commands[0]
    assert commands[1].strip() == ".venv/bin/python -m pytest"
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].strip() in ci
