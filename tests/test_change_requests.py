"""The smaller refusals around change requests, keys and versions, in real git repositories."""

from __future__ import annotations

from pathlib import Path

import pytest
from revision_repo import RevisionRepo, shared_history

from manualkit.base.diagnostics import ManualError
from manualkit.records.change_request import write_request
from manualkit.records.version import Version


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    """A repository with its first release, built once per test session (only copied)."""
    return shared_history(tmp_path_factory, "released")


@pytest.fixture
def repo(template: RevisionRepo, tmp_path: Path) -> RevisionRepo:
    return template.copy_to(tmp_path / "repo")


def refused(result: object, code: str) -> str:
    text = result.output  # type: ignore[attr-defined]
    assert result.code == 1, text  # type: ignore[attr-defined]
    assert code in text and "Traceback" not in text, text
    return str(text)


def test_a_change_request_whose_id_differs_from_its_file_name_is_refused(repo: RevisionRepo) -> None:
    cr = repo.propose("minor", ["3.2"], today="2026-02-10")
    path = repo.request_path(cr)
    path.write_text(path.read_text(encoding="utf-8").replace(f"id: {cr}", "id: CR-2026-999"), encoding="utf-8")
    out = refused(repo.manual("check"), "MAN641")
    assert f"changelog/requests/{cr}.yml:3:" in out


def test_a_change_request_naming_a_section_that_does_not_exist_is_refused(repo: RevisionRepo) -> None:
    cr = repo.propose("minor", ["3.2"], today="2026-02-10")
    path = repo.request_path(cr)
    path.write_text(path.read_text(encoding="utf-8").replace("sections: ['3.2']", "sections: ['3.2', '3.9']"), encoding="utf-8")
    out = refused(repo.manual("check"), "MAN642")
    assert "3.9" in out
    refused(repo.manual("propose", "--class", "minor", "--title", "x", "--sections", "9.9", "--reason", "y"), "MAN642")


def test_a_broken_template_is_reported_not_crashed_on(repo: RevisionRepo) -> None:
    (repo.root / "templates" / "change-request.yml").write_text("id: [unclosed\n", encoding="utf-8")
    refused(repo.manual("propose", "--class", "minor", "--title", "x", "--sections", "3.2", "--reason", "y"), "MAN644")
    assert not list((repo.root / "changelog" / "requests").glob("CR-2026-*.yml"))


def test_an_existing_change_request_is_never_overwritten(repo: RevisionRepo) -> None:
    existing = repo.request_path("CR-2025-001")
    before = existing.read_bytes()
    with pytest.raises(ManualError) as caught:
        write_request(repo.root, "CR-2025-001", "id: CR-2025-001\n")
    assert caught.value.diagnostics[0].code == "MAN645"
    assert existing.read_bytes() == before


def test_approving_an_unknown_change_request_lists_the_known_ones(repo: RevisionRepo) -> None:
    out = refused(repo.manual("approve", "CR-2026-404", "--role", "审核", "--key", str(repo.key("li"))), "MAN646")
    assert "CR-2025-001" in out


def test_a_missing_or_unusable_key_is_a_clear_error(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = repo.propose("minor", ["3.2"], today="2026-02-10")
    refused(repo.manual("approve", cr, "--role", "编制", "--key", str(tmp_path / "no-such-key")), "MAN620")
    garbage = tmp_path / "garbage-key"
    garbage.write_text("not a key\n")
    garbage.chmod(0o600)
    refused(repo.manual("approve", cr, "--role", "编制", "--key", str(garbage)), "MAN620")
    assert "approvals: []" in repo.request_path(cr).read_text(encoding="utf-8")


def test_the_last_edition_letter_cannot_be_exceeded() -> None:
    assert Version("Y", 3).next("edition", 10) == Version("Z", 0)
    with pytest.raises(ManualError) as caught:
        Version("Z", 2).next("edition", 10)
    assert caught.value.diagnostics[0].code == "MAN630"


def test_a_repository_without_releases_has_no_docx_to_build(tmp_path: Path) -> None:
    repo = RevisionRepo(tmp_path / "fresh")
    refused(repo.manual("docx", "-o", str(tmp_path / "x.docx")), "MAN685")
    assert not (tmp_path / "x.docx").exists()


def test_version_arithmetic_follows_8_2() -> None:
    assert Version.parse("A/0").next("revision", 10) == Version("A", 1)
    assert Version.parse("A/9").next("revision", 10) == Version("A", 10)
    assert Version.parse("A/10").next("revision", 10) == Version("B", 0)
    assert Version.parse("B/3").next("edition", 10) == Version("C", 0)
    assert str(Version.parse(" C/12 ")) == "C/12" and Version.parse("C/12").slug == "C-12"
