from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from continual_learning.config.fields import setting
from continual_learning.errors import ConfigError

DEFAULT_BASE_URLS: dict[str, str] = {
    "ollama": "http" + "://localhost:11434",
    "openai": "http" + "://localhost:8080/v1",
}


@dataclass(frozen=True, kw_only=True)
class AceConfig:
    """Which LLM plays the three roles, how many loops it runs and how large the playbook grows."""

    backend: Literal["local", "ollama", "openai"] = setting(
        "local",
        help="local: the workbench's own backbone in-process (same model as the other engines); "
        "ollama: Ollama's /api/chat; openai: any OpenAI-compatible server",
    )
    model: str = setting(
        "qwen3.5:9b", help="model name sent to the ollama or openai server (unused by local)"
    )
    base_url: str = setting(
        "", help="server address; empty: localhost:11434 (ollama) or localhost:8080/v1 (openai)"
    )
    api_key_env: str = setting(
        "OPENAI_API_KEY", help="environment variable holding the openai backend's API key, if any"
    )
    timeout_seconds: float = setting(120.0, minimum=0.1, maximum=3600.0, help="per-request timeout")
    max_retries: int = setting(
        2, minimum=0, maximum=10, help="retries after a refused connection, timeout or 5xx reply"
    )
    retry_backoff_seconds: float = setting(
        0.5, minimum=0.0, maximum=60.0, help="backoff factor: waits 0, 2x, 4x ... this long"
    )
    num_loops: int = setting(
        3, minimum=0, maximum=20, help="Generate-Reflect-Curate passes over a document's questions"
    )
    questions_per_step: int = setting(
        1,
        minimum=1,
        maximum=64,
        help="questions a loop answers, reflects on and curates together against one playbook, "
        "their edits merged after (the paper's batched adaptation; the role calls go out as one "
        "batch); 1: each question sees the previous one's edits",
    )
    questions_per_document: int = setting(
        4, minimum=1, maximum=32, help="questions the engine writes about a document it learns"
    )
    max_bullets: int = setting(
        50, minimum=1, maximum=10_000, help="playbook budget in bullets (least useful evicted)"
    )
    max_playbook_tokens: int = setting(
        768, minimum=0, help="playbook budget in tokens; 0: bullets budget only"
    )
    dedup_threshold: float = setting(
        0.8,
        minimum=0.0,
        maximum=1.0,
        help="cosine over character n-grams above which a new bullet merges into an old one",
    )
    context_tokens: int = setting(
        1024, minimum=64, help="token budget for documents in the Generator's prompt"
    )
    role_max_tokens: int = setting(
        96,
        minimum=8,
        maximum=4096,
        help="tokens the Reflector, Curator and question writer may write",
    )
    curator_fallback: bool = setting(
        True,
        help="when the Curator's JSON is unusable, add the Reflector's insight as one bullet",
    )
    playbook_dir: str = setting(
        "playbooks", help="folder of named playbooks (relative: inside the project checkout)"
    )

    def __post_init__(self) -> None:
        if self.backend != "local" and not self.model.strip():
            raise ConfigError(f"config key 'ace.model': the {self.backend} backend needs a model")

    @property
    def server_url(self) -> str:
        return (self.base_url or DEFAULT_BASE_URLS.get(self.backend, "")).rstrip("/")
