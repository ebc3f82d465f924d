from __future__ import annotations

import json
from pathlib import Path

import pytest

from continual_learning.core.documents import read_documents
from continual_learning.errors import DocumentError

LIMIT = 10_000


def _read(*paths: Path, limit: int = LIMIT):
    return read_documents(paths, max_file_bytes=limit)


def test_text_markdown_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Alpha text.\n")
    (tmp_path / "b.md").write_text("# Beta\nMarkdown body.")
    rows = [{"id": "c1", "text": "Gamma one."}, {"text": "Gamma two."}]
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    docs = _read(tmp_path / "a.txt", tmp_path / "b.md", tmp_path / "c.jsonl")
    assert [d.id for d in docs] == ["a", "b", "c1", "c-2"]
    assert docs[0].text == "Alpha text."
    assert docs[3].source.endswith("c.jsonl:2")


def test_folder_is_read_recursively_in_a_stable_order(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "z.txt").write_text("last")
    (tmp_path / "sub" / "m.md").write_text("middle")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\x00\x00")  # not a document type: skipped
    assert [d.id for d in _read(tmp_path)] == ["m", "z"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"  \n\t", "the file is empty"),
        ("binary.txt", b"ELF\x00\x01\x02text", "looks like a binary file"),
        ("latin1.txt", "café".encode("latin-1"), "not valid UTF-8"),
        ("huge.txt", b"x" * (LIMIT + 1), "over the limit"),
        ("bad.jsonl", b'{"text": "ok"}\n{not json}\n', "bad.jsonl:2: invalid JSON"),
        ("notext.jsonl", b'{"id": "x"}\n', 'needs a "text" string'),
        ("blank.jsonl", b"\n\n", "has no documents"),
        ("doc.pdf", b"%PDF-1.4", "unsupported file type"),
    ],
)
def test_bad_files_are_one_line_errors(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=message) as caught:
        _read(path)
    assert "\n" not in str(caught.value)


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no such file or folder"):
        _read(tmp_path / "missing.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DocumentError, match="has no .txt, .md or .jsonl files"):
        _read(tmp_path / "empty")


def test_one_bad_file_stops_the_whole_batch(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("fine")
    (tmp_path / "bad.txt").write_bytes(b"\x00\x00")
    with pytest.raises(DocumentError, match="bad.txt"):
        _read(tmp_path / "good.txt", tmp_path / "bad.txt")


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "same.txt").write_text("one")
    (tmp_path / "b" / "same.txt").write_text("two")
    with pytest.raises(DocumentError, match="appears twice"):
        _read(tmp_path)
