"""The documentation site is part of the product: it builds strictly, and what its pages show is what the code does.

Conventions for the pages (docs/development.md says the same for writers):

- a ``console`` block is a session: every ``$ `` line runs in a fresh copy of the repository, and the lines after
  it are its expected output (``...`` stands for any text);
- a ``bash`` block runs in a fresh copy, and every command must succeed;
- a ``yaml`` block loads without findings through the validator's loader (the generated rule reference, whose bad
  examples are bad on purpose, is exempt); a ``python`` block compiles and its imports resolve;
- HTML comments right before a fence steer it: ``<!-- no-test: why -->``, ``<!-- test-setup: COMMANDS -->``,
  ``<!-- test-replace: PATH | OLD | NEW -->``, ``<!-- test-write: PATH | COMMAND -->``.
"""
from __future__ import annotations

import ast
import importlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from validator.gate.rule_reference import BUILTIN, with_reference
from validator.gate.rule_registry import ALL_RULES
from validator.gate.yamlload import load_bytes
from validator.kinds import KINDS

PROJECT = Path(__file__).resolve().parents[1]
DOCS = PROJECT / "docs"
RULES_PAGE = DOCS / "reference" / "rules.md"
KINDS_PAGE = DOCS / "reference" / "kinds.md"
PAGES = sorted(DOCS.rglob("*.md"))

FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.MULTILINE | re.DOTALL)
DIRECTIVE = re.compile(r"<!--\s*(no-test|test-setup|test-replace|test-write)\s*(?::\s*(.*?))?\s*-->", re.DOTALL)


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    body: str
    directives: list[tuple[str, str]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(DOCS).as_posix()}:{self.line}"

    def get(self, name: str) -> list[str]:
        return [value for key, value in self.directives if key == name]


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for m in FENCE.finditer(text):
        indent = len(m.group("indent"))
        body = "".join(line[indent:] if line[:indent].isspace() else line
                       for line in m.group("body").splitlines(keepends=True))
        # The directives are the HTML comments between the previous non-blank, non-comment text and the fence.
        before = text[:m.start()].rstrip()
        directives: list[tuple[str, str]] = []
        while before.endswith("-->"):
            start = before.rfind("<!--")
            d = DIRECTIVE.fullmatch(before[start:])
            if d is None:
                break
            directives.insert(0, (d.group(1), (d.group(2) or "").strip()))
            before = before[:start].rstrip()
        found.append(Block(page, text[:m.start()].count("\n") + 1, m.group("lang"), body, directives))
    return found


ALL_BLOCKS = [b for page in PAGES for b in blocks(page)]


def runnable(lang: str) -> list[Block]:
    return [b for b in ALL_BLOCKS if b.lang == lang and not b.get("no-test")]


# -- the site ------------------------------------------------------------------------------------------------

def test_site_builds_strictly(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                             str(PROJECT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "reference" / "rules" / "index.html").is_file()


def test_every_directive_is_understood():
    for page in PAGES:
        for comment in re.findall(r"<!--\s*(?:no-test|test-)[^>]*-->", page.read_text(encoding="utf-8")):
            assert DIRECTIVE.fullmatch(comment), f"{page}: {comment}"
    for block in ALL_BLOCKS:
        for key, value in block.directives:
            assert key == "no-test" or value, f"{block.id}: {key} needs a value"
            if key == "no-test":
                assert value, f"{block.id}: say why the block must not run"


# -- the rule reference --------------------------------------------------------------------------------------

def test_rule_reference_is_current():
    text = RULES_PAGE.read_text(encoding="utf-8")
    assert with_reference(text) == text, "run: weights rules --update docs/reference/rules.md"


def test_the_documented_command_rewrites_the_rule_page(tmp_path):
    page = tmp_path / "rules.md"
    page.write_text(RULES_PAGE.read_text(encoding="utf-8").replace("| `yaml.syntax` |", "| stale |"), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "validator", "rules", "--update", str(page)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert page.read_text(encoding="utf-8") == RULES_PAGE.read_text(encoding="utf-8")


def test_every_rule_id_is_in_the_rule_reference():
    text = RULES_PAGE.read_text(encoding="utf-8")
    missing = [r.id for r in ALL_RULES if f"`{r.id}`" not in text] + [b[0] for b in BUILTIN if f"`{b[0]}`" not in text]
    assert not missing


def test_every_kind_is_on_the_kinds_page():
    text = KINDS_PAGE.read_text(encoding="utf-8")
    assert not [kind for kind in KINDS if f"**{kind}**" not in text]


# -- names and paths the pages mention -----------------------------------------------------------------------

CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _prose(page: Path) -> str:
    return FENCE.sub("", page.read_text(encoding="utf-8"))


def test_python_names_in_the_pages_exist():
    missing = []
    for page in PAGES:
        for span in CODE_SPAN.findall(_prose(page)):
            for name in re.findall(r"\bvalidator(?:\.[A-Za-z_]\w*)+", span):
                if not _resolves(name):
                    missing.append(f"{page.relative_to(PROJECT)}: {name}")
    assert not missing


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


TOP = ("config/", "weights/", "validator/", "tests/", "bench/", "examples/", ".github/", ".vscode/", ".ci/")
# Files the pages show commands creating (`weights new`, `weights keys init`), not files of this repository.
CREATED = {"weights/refund_risk.yaml", "tests/golden/refund_risk.yaml", "config/root.json"}


def test_repository_paths_in_the_pages_exist():
    missing = []
    for page in [*PAGES, PROJECT / "README.md"]:
        for span in CODE_SPAN.findall(_prose(page)):
            for token in span.split():
                token = token.strip("(),;:'\"")
                if (token.startswith(TOP) and token not in CREATED and not re.search(r"[<>*$]", token)
                        and not (PROJECT / token).exists()):
                    missing.append(f"{page.relative_to(PROJECT)}: {token}")
    assert not missing


# -- code blocks ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("block", [b for b in runnable("yaml") if b.page != RULES_PAGE], ids=lambda b: b.id)
def test_yaml_blocks_load_cleanly(block):
    _, findings = load_bytes(block.body.encode("utf-8"), block.id)
    assert not findings, findings


@pytest.mark.parametrize("block", runnable("python"), ids=lambda b: b.id)
def test_python_blocks_compile_and_import(block):
    tree = ast.parse(block.body, block.id)
    compile(tree, block.id, "exec")
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                assert _resolves(f"{node.module}.{alias.name}"), f"{block.id}: from {node.module} import {alias.name}"


def _copy(tmp_path: Path) -> Path:
    """The repository as an analyst has it: config, weights, golden cases and sample data, committed on main."""
    root = tmp_path / "repo"
    root.mkdir()
    for folder in ("config", "weights", "tests/golden", "tests/data"):
        shutil.copytree(PROJECT / folder, root / folder)
    shutil.copy(PROJECT / ".gitignore", root / ".gitignore")
    # `weights` and `.venv/bin/weights` are this interpreter's validator.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for shim_dir in (bin_dir, root / ".venv" / "bin"):
        shim_dir.mkdir(parents=True, exist_ok=True)
        shim = shim_dir / "weights"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m validator "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
    # A script, not a symlink: a symlinked interpreter outside its venv does not find the venv's packages.
    python = root / ".venv" / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    python.chmod(0o755)
    run = _runner(root, tmp_path)
    for command in ("git init -q -b main", "git add -A", "git commit -q -m 'weights as they are on main'"):
        result = run(command)
        assert result.returncode == 0, result.stderr
    return root


def _runner(root: Path, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS" and not k.startswith("WEIGHTS_")}
    env.update({"NO_COLOR": "1", "COLUMNS": "200", "PATH": f"{tmp_path / 'bin'}{os.pathsep}{env.get('PATH', '')}",
                "HOME": str(tmp_path / "home"), "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "Ana Lyst",
                "GIT_AUTHOR_EMAIL": "analyst@example.com", "GIT_COMMITTER_NAME": "Ana Lyst",
                "GIT_COMMITTER_EMAIL": "analyst@example.com", "WEIGHTS_LOG_DIR": str(tmp_path / "logs")})

    def run(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True, timeout=300,
                              check=False)

    return run


def _prepare(block: Block, tmp_path: Path):
    root = _copy(tmp_path)
    run = _runner(root, tmp_path)
    for spec in block.get("test-replace"):
        path, old, new = (part.strip() for part in spec.split("|"))
        text = (root / path).read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{block.id}: {old!r} is not once in {path}"
        (root / path).write_text(text.replace(old, new), encoding="utf-8")
    for command in block.get("test-setup"):
        result = run(command)
        assert result.returncode == 0, f"{block.id}: setup {command!r} failed:\n{result.stdout}{result.stderr}"
    return root, run


def _matches(expected: list[str], actual: list[str]) -> bool:
    if len(expected) != len(actual):
        return False
    for want, got in zip(expected, actual, strict=False):
        pattern = ".*".join(re.escape(part) for part in want.rstrip().split("..."))
        if not re.fullmatch(pattern, got.rstrip()):
            return False
    return True


def _session(body: str) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            assert steps, f"output before the first command: {line!r}"
            steps[-1][1].append(line)
    return steps


@pytest.mark.parametrize("block", runnable("console"), ids=lambda b: b.id)
def test_console_sessions_show_what_the_commands_print(block, tmp_path):
    _, run = _prepare(block, tmp_path)
    for command, expected in _session(block.body):
        result = run(command)
        assert result.returncode in (0, 1), f"{block.id}: {command}\n{result.stdout}{result.stderr}"
        actual = result.stdout.splitlines()
        assert _matches(expected, actual), (
            f"{block.id}: `{command}` printed\n" + "\n".join(actual) + "\n\nthe page shows\n" + "\n".join(expected))


@pytest.mark.parametrize("block", runnable("bash"), ids=lambda b: b.id)
def test_bash_blocks_run(block, tmp_path):
    _, run = _prepare(block, tmp_path)
    result = run("set -e\n" + block.body)
    assert result.returncode == 0, f"{block.id}:\n{block.body}\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.get("test-write")], ids=lambda b: b.id)
def test_files_shown_work_where_they_belong(block, tmp_path):
    root, run = _prepare(block, tmp_path)
    for spec in block.get("test-write"):
        path, command = (part.strip() for part in spec.split("|", 1))
        (root / path).write_text(block.body, encoding="utf-8")
        result = run(command)
        assert result.returncode == 0, f"{block.id}: {command}\n{result.stdout}{result.stderr}"


def test_the_pages_have_runnable_blocks():
    """Guard the parser: the analyst's guide shows sessions and the operator's guide commands that run."""
    assert runnable("console") and runnable("bash") and [b for b in ALL_BLOCKS if b.get("test-write")]
