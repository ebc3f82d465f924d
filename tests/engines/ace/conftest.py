"""A real LLM server for ACE's HTTP backends: llama.cpp (xllamacpp) serving SmolLM2's GGUF.

``models fetch`` keeps the verified GGUF beside the converted weights; the server loads it in
about a second and listens on a free port of 127.0.0.1 for the whole session. The Ollama
stand-in (``tests/ollama_standin.py``) forwards to it.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator

import pytest
import requests

from continual_learning.core.model_store import gguf_path
from continual_learning.core.paths import default_models_dir
from continual_learning.core.threads import physical_cores

from helpers import DEFAULT_MODEL, TEST_THREADS
from ollama_standin import OllamaStandIn


def _require(condition: bool, message: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    """Base address of a llama.cpp server with SmolLM2-135M-Instruct (Q4_1) loaded."""
    gguf = gguf_path(DEFAULT_MODEL, default_models_dir())
    _require(
        gguf.is_file(),
        f"no GGUF at {gguf}: run 'continual-learning models fetch {DEFAULT_MODEL}'",
    )
    try:
        import xllamacpp
    except ImportError:
        _require(False, "xllamacpp is not installed: run ./install.sh --dev")
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.model_alias = DEFAULT_MODEL
    params.port = 0  # any free port; the server reports which
    params.n_ctx = 4096
    params.n_parallel = 1
    params.verbosity = 1  # errors only: its per-request timings land in the test run's output
    # A thread per core this test process may use, and no spinning while it waits: a second
    # test worker shares the cores, and llama.cpp's busy threads slowed both ~10x.
    for cpu in (params.cpuparams, params.cpuparams_batch):
        cpu.n_threads = TEST_THREADS or physical_cores()
        cpu.poll = 0
    server = xllamacpp.Server(params)
    url = str(server.listening_address)
    deadline = time.monotonic() + 60
    while requests.get(f"{url}/health", timeout=5).status_code != 200:
        if time.monotonic() > deadline:
            pytest.fail(f"llama.cpp server at {url} did not become healthy")
        time.sleep(0.2)
    yield url
    del server
    gc.collect()


@pytest.fixture
def ollama_standin(llama_server: str) -> Iterator[OllamaStandIn]:
    standin = OllamaStandIn(llama_server).start()
    yield standin
    standin.stop()
