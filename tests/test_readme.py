"""The README is the front door: the two commands first, then links into docs/ (tests/test_docs.py checks the pages)."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(commands) == 2
    assert "pip install" in commands[0] and ".venv/bin/weights" in commands[0]
    assert commands[1].strip() == ".venv/bin/python -m pytest"
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].strip() in ci


def test_readme_stays_short():
    assert len(README.read_bytes()) < 10_000, "move the detail into docs/"


def test_readme_links_into_the_docs_resolve():
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#\s]+)(?:#[^)]*)?\)", text)
    assert len(links) >= 10, "the README links into docs/ (relative links, so they work on GitHub too)"
    assert not [link for link in links if not (README.parent / link).is_file()]
    assert not re.findall(r"\]\(#", text), "the README's sections moved into docs/: link to the page"
