"""Shared fixtures.

Two backbones: ``tiny_backbone``, a random-weight Llama built from a config with a small BPE
tokenizer trained here (plumbing only: it cannot learn or answer anything), and ``real_backbone``,
the provisioned SmolLM2-135M-Instruct, loaded once per session, for anything about generation or
learning. Real-model tests skip with a message when the model is not provisioned, except under
CI, where ``install.sh`` provisions it and its absence is a failure.
"""

from __future__ import annotations

import os

# huggingface_hub reads this once, when it is first imported: set before anything imports it, or
# a test that names a hub id waits ~45 s on network retries instead of failing at once.
os.environ["HF_HUB_OFFLINE"] = "1"
from collections.abc import Iterator
from pathlib import Path

import pytest

from continual_learning.config.schema import AppConfig, ModelConfig
from continual_learning.core.backbone import Backbone

import helpers
from helpers import SQUAD_DEV, build_tiny_backbone, make_config, shared_real_backbone

SLOW_SECONDS = 20.0
"""A test that takes longer than this on the 2-core reference machine is marked ``slow``."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the real model's fixture is a real-model test by construction."""
    for item in items:
        if "real_backbone" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real_model)


def pytest_configure(config: pytest.Config) -> None:
    if helpers.TEST_THREADS:
        import torch

        torch.set_num_threads(helpers.TEST_THREADS)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    helpers.RUNNING[:] = [item]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Keep ``slow`` honest: name the tests that took longer than it allows without the mark."""
    unmarked = [
        report
        for report in terminalreporter.getreports("passed")
        if report.when == "call"
        and report.duration > SLOW_SECONDS
        and "slow" not in report.keywords
    ]
    if unmarked:
        terminalreporter.write_sep("-", f"over {SLOW_SECONDS:.0f} s without @pytest.mark.slow")
        for report in unmarked:
            terminalreporter.write_line(f"{report.duration:6.1f} s  {report.nodeid}")


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the whole run: what is cached there (the guard's targets, computed
    once per model) is a pure function of its key, so sharing it changes no result, and every
    test process that learns with a weight engine is spared recomputing it. xdist's workers
    share it too (their temporary folders sit side by side; the cache writes atomically)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.getbasetemp().parent / "cache"
        folder.mkdir(exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("cache")


def _isolate(monkeypatch: pytest.MonkeyPatch, folder: Path, cache: Path) -> None:
    for variable in list(os.environ):
        if variable.startswith("CL__") or variable == "CL_PROFILE":
            monkeypatch.delenv(variable)
    monkeypatch.setenv("CL_CONFIG", str(folder / "user-config.yaml"))
    monkeypatch.setenv("CL_WORKSPACE", str(folder / "workspace"))
    monkeypatch.setenv("CL_CACHE_DIR", str(cache))
    monkeypatch.setenv("CL__ACE__PLAYBOOK_DIR", str(folder / "playbooks"))
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "error")
    if helpers.TEST_THREADS:  # every command and child process of an xdist worker
        monkeypatch.setenv("CL__MODEL__THREADS", str(helpers.TEST_THREADS))


@pytest.fixture(scope="session", autouse=True)
def isolated_session(
    tmp_path_factory: pytest.TempPathFactory, shared_cache: Path
) -> Iterator[None]:
    """Session and module fixtures (a workspace learned once for several tests) run before any
    test's own isolation: they get a folder of the session's instead of the developer's."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _isolate(monkeypatch, tmp_path_factory.mktemp("session"), shared_cache)
        yield


@pytest.fixture(autouse=True)
def isolated_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_cache: Path
) -> None:
    """No test reads or writes the developer's own config, workspace or cache."""
    _isolate(monkeypatch, tmp_path, shared_cache)


@pytest.fixture(scope="session", autouse=True)
def real_model_loads_are_marked() -> Iterator[None]:
    """Loading the real model in this process fails a test not marked ``real_model``, so
    ``-m "not real_model"`` really leaves out every test that needs it."""
    import continual_learning.core.backbone as backbone_module
    import continual_learning.workbench as workbench_module

    original = backbone_module.load_backbone

    def checked(config: ModelConfig, *, models_dir: Path | None = None) -> Backbone:
        if config.name == helpers.DEFAULT_MODEL:
            helpers.require_marked_real_model()
        return original(config, models_dir=models_dir)

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(backbone_module, "load_backbone", checked)
        monkeypatch.setattr(workbench_module, "load_backbone", checked)
        yield


@pytest.fixture
def app_config() -> AppConfig:
    return make_config()


@pytest.fixture
def tiny_backbone() -> Backbone:
    return build_tiny_backbone()


@pytest.fixture(scope="session")
def real_backbone() -> Backbone:
    return shared_real_backbone()


@pytest.fixture
def squad_dev_path() -> Path:
    if not SQUAD_DEV.is_file():
        pytest.skip(
            f"SQuAD dev set not found at {SQUAD_DEV} (it lives in ../shared beside the project)"
        )
    return SQUAD_DEV
