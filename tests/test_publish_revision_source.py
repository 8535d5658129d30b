"""The commit a bundle is built from, read through ``GitRevision``: the same files and bytes as a checkout of
that commit would have, without touching the work tree."""
from __future__ import annotations

from pathlib import Path

import pytest
from publish_helpers import commit_all, make_repo

from validator.gate.sources import GitRevision, SourceError, WorkTree


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo")
    (root / "weights" / "nested" / "deeper").mkdir(parents=True)
    (root / "weights" / "nested" / "inner.yaml").write_text("a: 1\n")
    (root / "weights" / "nested" / "deeper" / "leaf.yml").write_text("b: 2\n")
    (root / "weights" / "notes.txt").write_text("not yaml\n")
    commit_all(root, "nested files")
    return root


def test_a_revision_reads_what_the_work_tree_of_that_commit_holds(repo):
    tree, rev = WorkTree(repo), GitRevision(repo, "HEAD")
    for folder in ("weights", "config/contracts", "weights/nested", "weights/nested/deeper", "config"):
        assert rev.list(folder) == tree.list(folder), folder
        for path in rev.list(folder):
            assert rev.read(path) == tree.read(path), path
    assert "weights/notes.txt" not in rev.list("weights")
    assert rev.read("weights/notes.txt") == b"not yaml\n"
    assert rev.read("weights/nested/deeper/leaf.yml") == b"b: 2\n"


def test_what_is_not_a_file_at_the_revision_reads_as_none(repo):
    rev = GitRevision(repo, "HEAD")
    assert rev.read("weights/absent.yaml") is None
    assert rev.read("absent/folder/file.yaml") is None
    assert rev.read("weights/nested") is None          # a folder, not a file
    assert rev.read("weights/fraud_risk.yaml/x") is None  # below a file
    assert rev.read("../outside.yaml") is None
    assert rev.read("") is None
    assert rev.list("absent") == [] and rev.list("weights/fraud_risk.yaml") == []


def test_an_older_revision_is_read_as_it_was_whatever_the_work_tree_holds(repo):
    path = repo / "weights" / "nested" / "inner.yaml"
    path.write_text("a: 2\n")
    commit_all(repo, "change")
    path.write_text("a: 3  # uncommitted\n")
    assert GitRevision(repo, "HEAD~1").read("weights/nested/inner.yaml") == b"a: 1\n"
    assert GitRevision(repo, "HEAD").read("weights/nested/inner.yaml") == b"a: 2\n"
    assert WorkTree(repo).read("weights/nested/inner.yaml") == b"a: 3  # uncommitted\n"


def test_a_bad_revision_or_folder_is_a_source_error(repo, tmp_path):
    with pytest.raises(SourceError, match="unknown git revision 'nope'"):
        GitRevision(repo, "nope")
    (tmp_path / "plain").mkdir()
    with pytest.raises(SourceError, match="is not a git repository"):
        GitRevision(tmp_path / "plain", "HEAD")
