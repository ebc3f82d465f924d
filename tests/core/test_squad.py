from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from continual_learning.config.schema import SquadConfig
from continual_learning.core.squad import load_squad, resolve_squad_path, sample_paragraphs
from continual_learning.errors import DatasetError

LOOPBACK = "http" + "://127.0.0.1"

TINY_V2 = {
    "version": "v2.0",
    "data": [
        {
            "title": "Velmoria",
            "paragraphs": [
                {
                    "context": "Zorblax Quentaro is the capital of Velmoria.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "What is the capital of Velmoria?",
                            "answers": [
                                {"text": "Zorblax Quentaro", "answer_start": 0},
                                {"text": "Zorblax Quentaro", "answer_start": 0},
                            ],
                            "is_impossible": False,
                        },
                        {
                            "id": "q2",
                            "question": "Who rules Velmoria?",
                            "answers": [],
                            "is_impossible": True,
                        },
                    ],
                }
            ],
        }
    ],
}


def test_official_dev_set_is_grouped_by_paragraph(squad_dev_path: Path) -> None:
    paragraphs = load_squad(squad_dev_path)
    questions = [q for p in paragraphs for q in p.questions]
    assert len({p.title for p in paragraphs}) == 35
    assert len(paragraphs) == 1204
    assert len(questions) == 11873
    assert sum(q.is_impossible for q in questions) == 5945
    assert all(q.doc_id == p.id for p in paragraphs for q in p.questions)
    first = paragraphs[0]
    assert first.as_document().text == first.context


def test_v11_layout_and_deduplicated_answers(tmp_path: Path) -> None:
    v11 = json.loads(json.dumps(TINY_V2))
    for qa in v11["data"][0]["paragraphs"][0]["qas"]:
        qa.pop("is_impossible")
    v11["data"][0]["paragraphs"][0]["qas"].pop()  # v1.1 has only answerable questions
    path = tmp_path / "v11.json"
    path.write_text(json.dumps(v11))
    (paragraph,) = load_squad(path)
    assert paragraph.questions[0].answers == ("Zorblax Quentaro",)
    assert not paragraph.unanswerable


def test_sampling_is_seeded(squad_dev_path: Path) -> None:
    paragraphs = load_squad(squad_dev_path)
    first = [p.id for p in sample_paragraphs(paragraphs, 5, seed=1)]
    assert first == [p.id for p in sample_paragraphs(paragraphs, 5, seed=1)]
    assert all(p.answerable for p in sample_paragraphs(paragraphs, 50, seed=2))
    with pytest.raises(DatasetError, match="only"):
        sample_paragraphs(paragraphs, 100_000)


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ('{"data": [{"title": "x"}]}', "official layout")],
)
def test_malformed_files_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_squad(path)


def test_configured_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="squad.path"):
        resolve_squad_path(SquadConfig(path=str(tmp_path / "missing.json")))


@pytest.fixture
def squad_server(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving a tiny SQuAD file, in place of the official site."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "dev-v2.0.json").write_text(json.dumps(TINY_V2))

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(site), **kwargs)

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{LOOPBACK}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_once_then_use_the_cache(tmp_path: Path, squad_server: str) -> None:
    config = SquadConfig(url=f"{squad_server}/dev-v2.0.json")
    path = resolve_squad_path(config, cache_dir=tmp_path / "cache")
    assert path == tmp_path / "cache" / "squad" / "dev-v2.0.json"
    assert load_squad(path)[0].questions[1].is_impossible
    dead = SquadConfig(url=f"{LOOPBACK}:9/dev-v2.0.json")  # same name: from cache
    assert resolve_squad_path(dead, cache_dir=tmp_path / "cache") == path


def test_unreachable_server_is_a_clear_error(tmp_path: Path, squad_server: str) -> None:
    with pytest.raises(DatasetError, match="set config key squad.path"):
        resolve_squad_path(SquadConfig(url=f"{squad_server}/missing.json"), cache_dir=tmp_path)
    with pytest.raises(DatasetError, match="cannot download"):
        resolve_squad_path(SquadConfig(url=f"{LOOPBACK}:9/x.json"), cache_dir=tmp_path)
