"""The record-kind registry: the one home of every kind of record under ``changelog/``.

Each kind is declared once, by its own module, as a :class:`RecordKind` passed to
:func:`register`: its ``kind`` (the ``kind:`` line and the first line of the signed text), its
folder under ``changelog/``, its Chinese title, its fields (required and optional, with their
types), the diagnostic codes its checks report, and how large a file of it may be. This module
then owns, for every kind:

- the one reading of a record file's bytes (:func:`read_yaml`): bounded in size (MAN860) and in
  what file it is (MAN861: a ``.yml`` nested in a subfolder of a kind's folder is no record),
  UTF-8 (MAN001, written by base/encoding for every reader), YAML (base/yamlfile, positions kept);
- the one check of the fields a generic signed record carries (:func:`parse_signed`) and the one
  listing of a kind's records out of the ``changelog/`` contents (:func:`files_of`, :func:`load_signed`);
- the one write (:func:`write_new`): under the repository lock, atomic, never over a record;
- the one answer to "which signer of the registry owns this private key" (:func:`approver_for_key`).

The architecture test (tests/test_architecture_records.py) holds every other module to it: no
module but this one calls the YAML reader on a record of ``changelog/`` or lists that folder.

Two layouts exist. A *generic* kind (returns, revocations, training, controlled copies and
their recalls) is written line by line by :func:`record_text` and signed over its fields in
order (:class:`SignedRecord`); its module declares nothing but the kind and its own checks. A
kind with its own shape (change requests, releases, reviews, opinions, answers) declares itself
the same way and hands its mapping, read here, to its own parser.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from manualkit.base.diagnostics import Diagnostic, diagnostic, fail

if TYPE_CHECKING:
    from manualkit.records.policy import Approver, Policy
    from manualkit.records.revocation import Revocation
    from manualkit.records.webauthn_signature import Assertion
    from manualkit.text.schema import Field

CHANGELOG_DIR = "changelog"
#: A signed record is a few hundred bytes; a return's reason is at most 500 characters. A file
#: far larger is no record ``manual`` wrote (a mistake or an attack): it is not parsed.
MAX_RECORD_BYTES = 64 * 1024

#: The modules that declare the kinds (each calls :func:`register` once per kind at import).
#: A new kind is one module; its name goes here so that :func:`kinds` lists it.
KIND_MODULES = (
    "manualkit.records.change_request",
    "manualkit.records.release",
    "manualkit.records.review",
    "manualkit.records.returns",
    "manualkit.records.key_revocation",
    "manualkit.records.training",
    "manualkit.records.copies",
    "manualkit.records.opinions",
    "manualkit.records.answers",
)


class RecordKind(NamedTuple):
    """One kind of record under ``changelog/``, as its module declares it (a named tuple, not a
    dataclass: the dataclasses module costs every command's start a millisecond or more, see
    tests/test_diff.py)."""

    kind: str  # "manual-return/1": the record's ``kind:`` line and the first line it signs
    folder: str  # "changelog/returns"
    title: str  # "退回记录": how diagnostics and pages name it
    fields: tuple[str, ...] = ()  # required fields; for a generic kind, the signed ones in signing order
    optional: tuple[str, ...] = ()  # fields it may carry or leave out (signed after the others when present)
    code: str = "MAN855"  # the diagnostic of an unreadable or malformed record of the kind
    codes: tuple[str, ...] = ()  # every further code its checks report (docs/diagnostics.md)
    generic: bool = True  # written by record_text and read by parse_signed; False: its module shapes it
    marked: bool = True  # the file carries ``kind: <kind>`` (reviews were written before that rule)
    suffix: str = ".yml"  # how its file names end
    excludes: tuple[str, ...] = ()  # name endings in the same folder that belong to another kind
    max_bytes: int = MAX_RECORD_BYTES
    #: Field → type of its value as read (str, int; ``str`` for a generic kind's fields: each is
    #: written quoted, and an int read back is its text).
    types: Mapping[str, type] = MappingProxyType({})
    schema: Callable[[], Field] | None = None  # the text/schema of a kind with its own shape

    def holds(self, path: str) -> bool:
        """``path`` (relative to the repository) is a file of this kind: directly in its folder,
        with its suffix and none of the endings of the other kinds sharing the folder."""
        if not path.startswith(self.folder + "/") or "/" in path[len(self.folder) + 1 :]:
            return False
        return path.endswith(self.suffix) and not any(path.endswith(e) for e in self.excludes)

    def type_of(self, name: str) -> type:
        return self.types.get(name, str)


_REGISTRY: dict[str, RecordKind] = {}


def register(kind: RecordKind) -> RecordKind:
    """Declare ``kind`` (once, from its own module); refuses a second kind of that name or a
    kind whose files could not be told from another's."""
    known = _REGISTRY.get(kind.kind)
    if known is not None and known != kind:
        raise ValueError(f"record kind {kind.kind} is declared twice")
    if not kind.folder.startswith(CHANGELOG_DIR + "/"):
        raise ValueError(f"record kind {kind.kind}: {kind.folder} is not under changelog/")
    for other in _REGISTRY.values():
        if other.kind != kind.kind and other.folder == kind.folder:
            sample = f"{kind.folder}/x{kind.suffix}"
            if other.holds(sample) or kind.holds(f"{other.folder}/x{other.suffix}"):
                raise ValueError(f"record kinds {other.kind} and {kind.kind} share {kind.folder} and cannot be told apart")
    _REGISTRY[kind.kind] = kind
    return kind


def kinds() -> list[RecordKind]:
    """Every declared kind, in the order of :data:`KIND_MODULES`, then of declaration."""
    for module in KIND_MODULES:
        importlib.import_module(module)
    return list(_REGISTRY.values())


def kind_of(name: str) -> RecordKind:
    found = _REGISTRY.get(name)
    if found is None:
        for module in KIND_MODULES:
            importlib.import_module(module)
        found = _REGISTRY[name]
    return found


def kind_at(path: str) -> RecordKind | None:
    """The kind whose file ``path`` is, or None (a derived file, or no record)."""
    return next((k for k in kinds() if k.holds(path)), None)


# --- reading ------------------------------------------------------------------------------------


def files_of(contents: Mapping[str, bytes], kind: RecordKind) -> tuple[list[str], list[Diagnostic]]:
    """The paths of ``contents`` that are files of ``kind``, in name order; MAN861 for each
    ``.yml`` file nested in a subfolder of its folder (no record is written there: it is not read)."""
    paths: list[str] = []
    problems: list[Diagnostic] = []
    for path in sorted(contents):
        if kind.holds(path):
            paths.append(path)
        elif (
            path.startswith(kind.folder + "/")
            and "/" in path[len(kind.folder) + 1 :]
            and path.endswith(kind.suffix)
            and not any(path.endswith(e) for e in kind.excludes)
        ):
            problems.append(
                diagnostic(path, 0, 0, "MAN861", f"{kind.title}只能直接放在 {kind.folder}/ 中，子文件夹中的文件不是记录，未读取；请移走该文件")
            )
    return paths, problems


def read_yaml(path: str, raw: bytes, kind: RecordKind | None = None) -> tuple[Any, list[Diagnostic]]:
    """The YAML of the record file ``raw`` (stored at ``path``): ``(data, [])``, or ``(None,
    problems)`` when it is larger than its kind allows (MAN860), not UTF-8 (MAN001) or not YAML.
    The one reader of record YAML: every kind's parser starts here."""
    limit = kind.max_bytes if kind is not None else MAX_RECORD_BYTES
    if len(raw) > limit:
        what = kind.title if kind is not None else "记录"
        return None, [
            diagnostic(path, 0, 0, "MAN860", f"{what}文件过大（{len(raw)} 字节，上限 {limit} 字节），不是 manual 写入的记录，未读取；请检查该文件的来源")
        ]
    from manualkit.base.encoding import decode_utf8

    text, bad = decode_utf8(path, raw)
    if text is None:
        return None, bad
    return parse_text(path, text)


def decode_record(path: str, raw: bytes, kind: RecordKind) -> tuple[str | None, list[Diagnostic]]:
    """The text of a record whose kind follows the manual's text rules (change requests,
    releases, reviews: an empty file is MAN003, a BOM MAN002, bad UTF-8 MAN001 at its line,
    text/manual.decode), bounded in size like every record (MAN860)."""
    from manualkit.text.manual import decode

    if len(raw) > kind.max_bytes:
        return None, read_yaml(path, raw, kind)[1]
    return decode(path, raw)


def parse_text(path: str, text: str, first_line: int = 1) -> tuple[Any, list[Diagnostic]]:
    """The YAML of a record whose kind decodes its own bytes (change requests and releases,
    text/manual.decode: BOM and empty-file rules)."""
    from manualkit.base import yamlfile

    return yamlfile.parse(text, path, first_line)


def parse_for_edit(path: str, text: str) -> tuple[Any, list[Diagnostic]]:
    """A change request read for an edit that keeps every untouched byte (an approval appended)."""
    from manualkit.base import yamlfile

    return yamlfile.parse_roundtrip(text, path)


def read_mapping(path: str, raw: bytes | None, kind: RecordKind | None = None) -> Mapping[str, Any]:
    """The record at ``path`` as a mapping, or an empty one when it is missing or unreadable (for
    readers that only collect what valid records say; their own parsers report the rest)."""
    if raw is None:
        return {}
    data, problems = read_yaml(path, raw, kind)
    return data if isinstance(data, Mapping) and not problems else {}


def parse_record(raw: bytes, path: str, kind: RecordKind) -> tuple[Any, list[Diagnostic]]:
    """A record file of ``kind`` read as a mapping: ``(data, [])``; ``(None, problems)`` when it
    cannot be read (:func:`read_yaml`); ``(None, [])`` when it is YAML but not a mapping of that
    kind, which the kind's own module reports with its own code."""
    data, problems = read_yaml(path, raw, kind)
    if problems:
        return None, problems
    if not isinstance(data, dict) or (kind.marked and data.get("kind") != kind.kind):
        return None, []
    return data, []


def parse_schema(path: str, raw: bytes, kind: RecordKind) -> tuple[Any, list[Diagnostic]]:
    """A record of a kind with a text/schema (``kind.schema``): its mapping checked against the
    schema, or the problems (a MAN104 when it is not a mapping)."""
    from manualkit.text.schema import validate

    text, problems = decode_record(path, raw, kind)
    if text is None:
        return None, problems
    data, problems = parse_text(path, text)
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [diagnostic(path, 1, 1, "MAN104", f"{kind.title}应为键值映射")]
    problems = validate(data, kind.schema(), path, 1) if kind.schema is not None else []
    return (None, problems) if problems else (data, [])


# --- generic signed records ------------------------------------------------------------------------


class SignedRecord(NamedTuple):
    """One record of a generic kind as stored: its kind, its signed fields, the signer's name and
    the signature."""

    path: str
    kind: str
    fields: Mapping[str, str]
    name: str
    signature: str
    webauthn: Assertion | None = None  # a return signed at the desk (then ``signature`` is empty)

    def message(self, document_number: str) -> bytes:
        from manualkit.base import sshsig

        k = kind_of(self.kind)
        names = (*k.fields, *(n for n in k.optional if n in self.fields))
        return sshsig.signed_text(self.kind, [("document", document_number), *((n.replace("_", "-"), self.fields[n]) for n in names)])


def record_text(record: SignedRecord) -> str:
    """The bytes of a generic record: a comment, ``kind``, each field quoted in signing order,
    the signer's name and the signature (or the desk's WebAuthn assertion)."""
    from manualkit.base.yamlfile import quoted

    k = kind_of(record.kind)
    lines = [
        f"# {k.title}: written by `manual`; never edit (the signature covers it).",
        f"kind: {record.kind}",
    ]
    lines += [f"{n}: {quoted(record.fields[n])}" for n in k.fields]
    lines += [f"{n}: {quoted(record.fields[n])}" for n in k.optional if n in record.fields]
    lines.append(f"name: {quoted(record.name)}")
    if record.webauthn is not None:
        from manualkit.records.webauthn_return import webauthn_lines

        return "\n".join(lines + webauthn_lines(record.webauthn)) + "\n"
    lines += ["signature: |", *("  " + line for line in record.signature.splitlines())]
    return "\n".join(lines) + "\n"


def parse_signed(path: str, raw: bytes, kind: str) -> tuple[SignedRecord | None, list[Diagnostic]]:
    """A generic record of ``kind`` checked against its declaration: every required field and
    ``name``/``signature`` present as a scalar (not a boolean), every optional one quoted text."""
    k = kind_of(kind)
    data, problems = parse_record(raw, path, k)
    if data is None:
        return None, problems or [diagnostic(path, 1, 1, k.code, f"{k.title}应为键值映射，kind 为 {kind}")]
    if "webauthn" in data and "manual-return/1" == kind:
        from manualkit.records.webauthn_return import parse_webauthn_return

        parsed, problems = parse_webauthn_return(path, data, k.fields)
        return (SignedRecord(path, kind, parsed[0], parsed[1], "", parsed[2]) if parsed else None), problems
    missing = [n for n in (*k.fields, "name", "signature") if not isinstance(data.get(n), str | int) or isinstance(data.get(n), bool)]
    if missing:
        return None, [diagnostic(path, 1, 1, k.code, f"{k.title}缺少或写错了：{'、'.join(missing)}")]
    fields = {n: str(data[n]) for n in k.fields}
    for n in k.optional:
        if n in data:
            if not isinstance(data[n], k.type_of(n)):
                return None, [diagnostic(path, 1, 1, k.code, f"{k.title}的 {n} 应为带引号的文本")]
            fields[n] = data[n]
    return SignedRecord(path, kind, fields, str(data["name"]), str(data["signature"])), []


def load_signed(contents: Mapping[str, bytes], directory: str, kind: str) -> tuple[list[SignedRecord], list[Diagnostic]]:
    """Every record of ``kind`` in ``contents`` (``directory``: its folder, as the kind declares)."""
    k = kind_of(kind)
    if directory != k.folder:
        raise ValueError(f"{kind} records live in {k.folder}, not {directory}")
    paths, problems = files_of(contents, k)
    records: list[SignedRecord] = []
    for path in paths:
        record, more = parse_signed(path, contents[path], kind)
        problems += more
        if record is not None:
            records.append(record)
    return records, problems


def load(contents: Mapping[str, bytes], kind: RecordKind, parse: Callable[[str, bytes], tuple[Any, list[Diagnostic]]]) -> tuple[list[Any], list[Diagnostic]]:
    """Every record of a kind with its own shape, each read by ``parse`` (its module's parser)."""
    paths, problems = files_of(contents, kind)
    records: list[Any] = []
    for path in paths:
        record, more = parse(path, contents[path])
        problems += more
        if record is not None:
            records.append(record)
    return records, problems


# --- writing ------------------------------------------------------------------------------------


def write_new(root: Path, rel: str, text: str, command: str = "record", *, code: str = "MAN645", exists: str = "该记录已存在；不会覆盖") -> Path:
    """Write the record ``text`` at ``rel``: under the repository lock (re-entered when the
    command holds it already), atomically, and never over a file there (``code``/``exists``:
    the refusal, as the kind's command words it). A record that could not be read back (a
    character no record may hold) is refused before anything is written."""
    from manualkit.base.atomic import write_atomic
    from manualkit.base.lock import repository_lock

    path = root / rel
    with repository_lock(root, command):
        if os.path.lexists(path):
            raise fail(rel, 0, 0, code, exists)
        write_atomic(path, text)
    return path


def write_record(root: Path, record: SignedRecord) -> SignedRecord:
    """Write the generic ``record`` at its path (never over one). It is read back first, as
    every reader will read it: a record whose text would not give back exactly its fields (a
    character no record may hold, a kind it does not declare) is refused, nothing written."""
    text = record_text(record)
    again, problems = parse_signed(record.path, text.encode("utf-8"), record.kind)
    if again is None or (again.fields, again.name, again.signature.strip(), again.webauthn) != (
        {k: str(v) for k, v in record.fields.items()}, record.name, record.signature.strip(), record.webauthn
    ):
        from manualkit.base.diagnostics import ManualError

        raise ManualError(problems or [diagnostic(record.path, 0, 0, "MAN862", f"{kind_of(record.kind).title}写入后无法原样读回；未写入任何文件")])
    write_new(root, record.path, text)
    return record


def write_signed(
    root: Path,
    rel: str,
    kind: str,
    fields: Mapping[str, str],
    name: str,
    key_path: Path,
    policy: Policy,
    document_number: str,
) -> SignedRecord:
    """Sign ``fields`` with the key at ``key_path`` and write the record at ``rel`` (never over one)."""
    from manualkit.base import sshsig

    record = SignedRecord(rel, kind, dict(fields), name, "")
    signature = sshsig.sign(record.message(document_number), key_path, policy.signing_namespace)
    return write_record(root, record._replace(signature=signature))


# --- signers ------------------------------------------------------------------------------------

#: How MAN651 names the registry that judges an approval or a chapter 8 record.
REGISTRY_IN_FORCE = "（现行名录，即上一次发布时的名录）"


def approver_for_key(policy: Policy, key_path: Path, registry: str = REGISTRY_IN_FORCE) -> Approver:
    """The signer of ``policy``'s registry whose public key is that of the private key at
    ``key_path`` (compared as type and base64); MAN651, saying how one is added, otherwise."""
    from manualkit.base import sshsig
    from manualkit.records.policy import registration_hint

    found = policy.approver_with_key(sshsig.public_key_of(key_path))
    if found is not None:
        return found
    raise fail(str(key_path), 0, 0, "MAN651", f"该私钥对应的公钥不在 policy.yml 的签署人名录中{registry}。{registration_hint(policy)}")


def signature_valid(
    record: SignedRecord,
    policy: Policy,
    document_number: str,
    key: str | None = None,
    revocations: Sequence[Revocation] = (),
    signed_at: str = "",
) -> bool:
    """The record is signed by its ``by`` signer (with the registry's key, or ``key`` when given)
    and names them as the registry does. A record signed (at ``signed_at``) before the signer's
    key was revoked and replaced in the registry stays valid with that revoked key (8.2 四)."""
    from manualkit.base import sshsig
    from manualkit.records.revocation import signed_after_revocation

    approver = policy.approver(record.fields["by"])
    if approver is None or approver.name != record.name:
        return False
    if record.webauthn is not None:
        from manualkit.records.webauthn_return import webauthn_record_valid

        return webauthn_record_valid(record.message(document_number), record.webauthn, approver, revocations, signed_at)
    keys = [key or approver.public_key]
    if key is None and signed_at:
        by = record.fields["by"]
        keys += [r.key for r in revocations if r.signer == by and signed_after_revocation(r, signed_at, record.signature) is False]
    message = record.message(document_number)
    return any(sshsig.verify(message, record.signature, k, policy.signing_namespace) for k in dict.fromkeys(keys))


# --- the folder ---------------------------------------------------------------------------------


def record_folders(root: Path) -> list[str]:
    """The folders directly under ``changelog/`` (not hidden), by name: where a reader that
    gathers every record looks (each record's kind is then told by :func:`kind_at`)."""
    try:
        with os.scandir(root / CHANGELOG_DIR) as entries:
            return sorted(f"{CHANGELOG_DIR}/{e.name}" for e in entries if e.is_dir(follow_symlinks=False) and not e.name.startswith("."))
    except OSError:
        return []


def read_folder(root: Path, folder: str = CHANGELOG_DIR, skip: Callable[[str], bool] | None = None) -> tuple[dict[str, bytes], list[Diagnostic]]:
    """The files of ``folder`` (``changelog/`` or one kind's folder) in the work tree, bounded,
    symlinks and special files refused (text/worktree.read_dir_files). With ``skip``, only the
    folder's own ``.yml`` files whose name ``skip`` declines are read (a reader that knows which
    records it needs leaves hundreds of released change requests unread)."""
    from manualkit.text.worktree import read_bounded, read_dir_files

    if folder != CHANGELOG_DIR and not folder.startswith(CHANGELOG_DIR + "/"):
        raise ValueError(f"{folder} is not under changelog/")
    if skip is None:
        found, problems = read_dir_files(root, folder)
        return {k: v for k, v in found.items() if k.startswith(folder + "/")}, problems
    contents: dict[str, bytes] = {}
    problems = []
    try:
        with os.scandir(root / folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return contents, problems
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.endswith(".yml") or skip(entry.name):
            continue
        rel = f"{folder}/{entry.name}"
        if entry.is_symlink():
            problems.append(diagnostic(rel, 0, 0, "MAN005", "记录文件不能是符号链接"))
            continue
        data, problem = read_bounded(entry.path, rel)
        if data is not None:
            contents[rel] = data
        elif problem is not None:
            problems.append(problem)
    return contents, problems


def read_commit(root: Path, commit: str) -> dict[str, bytes]:
    """The files of ``changelog/`` at ``commit`` (bounded; symlinks and oversized blobs left out)."""
    from manualkit.base import git

    return git.read_tree_files(root, commit, CHANGELOG_DIR + "/")[0]


def generic_kinds() -> Iterable[RecordKind]:
    return [k for k in kinds() if k.generic]
