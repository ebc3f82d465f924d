"""The LLM that plays ACE's roles: the backbone in-process, Ollama, or an OpenAI-compatible server.

All three answer ``chat(messages, max_tokens)`` with greedy decoding, so a loop is repeatable,
and ``chat_many`` for the role calls of a batched loop step: the backbone decodes them as one
batch, a server gets them as concurrent requests (its own scheduler batches them).
The two HTTP clients share one :class:`requests.Session` set up with urllib3's ``Retry``: a
refused connection, a timeout or a 5xx reply is retried ``max_retries`` times with exponential
backoff; anything that still fails becomes an :class:`~continual_learning.errors.LLMError` that
says what to do about it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from continual_learning.core.backbone import Backbone, ChatMessage, GenerationOptions
from continual_learning.engines.ace.config import AceConfig
from continual_learning.errors import LLMError


class ChatModel(Protocol):
    """Anything that answers a chat with text."""

    name: str

    def chat(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> str: ...

    def chat_many(
        self, conversations: Sequence[Sequence[ChatMessage]], *, max_tokens: int
    ) -> list[str]: ...


class LocalChat:
    """The workbench's backbone, so ACE runs on the same model as every other engine."""

    def __init__(self, backbone: Backbone) -> None:
        self.backbone = backbone
        self.name = f"local:{backbone.name}"

    def chat(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> str:
        return self.backbone.chat(messages, GenerationOptions(max_new_tokens=max_tokens))

    def chat_many(
        self, conversations: Sequence[Sequence[ChatMessage]], *, max_tokens: int
    ) -> list[str]:
        """One batched ``generate`` (a single conversation decodes exactly as :meth:`chat`)."""
        if len(conversations) <= 1:
            return [self.chat(c, max_tokens=max_tokens) for c in conversations]
        prompts = [self.backbone.encode_chat(c) for c in conversations]
        return self.backbone.generate_batch(prompts, GenerationOptions(max_new_tokens=max_tokens))


class _HttpChat:
    """What the two HTTP backends share: the retrying session, timeouts and error wording."""

    service = "LLM server"

    def __init__(self, config: AceConfig) -> None:
        self.base_url = config.server_url
        self.model = config.model
        self.timeout = config.timeout_seconds
        self.name = f"{config.backend}:{config.model}"
        retry = Retry(
            total=config.max_retries,
            connect=config.max_retries,
            read=config.max_retries,
            status=config.max_retries,
            backoff_factor=config.retry_backoff_seconds,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=None,  # POSTs too: a chat request has no side effects
            raise_on_status=False,
        )
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def chat(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> str:
        raise NotImplementedError

    def chat_many(
        self, conversations: Sequence[Sequence[ChatMessage]], *, max_tokens: int
    ) -> list[str]:
        """Concurrent requests, replies in order; the first failure is raised."""
        if len(conversations) <= 1:
            return [self.chat(c, max_tokens=max_tokens) for c in conversations]
        with ThreadPoolExecutor(max_workers=len(conversations)) as pool:
            return list(pool.map(lambda c: self.chat(c, max_tokens=max_tokens), conversations))

    def _post(self, path: str, payload: dict[str, Any], headers: dict[str, str]) -> Any:
        url = f"{self.base_url}{path}"
        try:
            response = self.session.post(url, json=payload, headers=headers, timeout=self.timeout)
        except requests.exceptions.ConnectionError as exc:
            if "timed out" in str(exc).lower():
                raise LLMError(
                    f"{self.service} at {self.base_url} did not answer within {self.timeout:g} s"
                ) from None
            raise LLMError(
                f"{self.service} at {self.base_url} is not reachable ({self._start_hint()})"
            ) from None
        except requests.exceptions.Timeout:
            raise LLMError(
                f"{self.service} at {self.base_url} did not answer within {self.timeout:g} s"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise LLMError(f"request to {self.service} at {url} failed: {exc}") from None
        if response.status_code == 404:
            raise LLMError(self._not_found(response))
        if response.status_code >= 400:
            raise LLMError(
                f"{self.service} at {url} answered HTTP {response.status_code}: "
                f"{_snippet(response.text)}"
            )
        try:
            return response.json()
        except ValueError:
            raise LLMError(
                f"{self.service} at {url} replied with something that is not JSON: "
                f"{_snippet(response.text)}"
            ) from None

    def _start_hint(self) -> str:
        return "is it running?"

    def _not_found(self, response: requests.Response) -> str:
        return f"{self.service} at {self.base_url} has no model '{self.model}' or no such endpoint"


class OllamaChat(_HttpChat):
    """Ollama's ``POST /api/chat`` with ``stream: false``."""

    service = "Ollama"

    def chat(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> str:
        payload = {
            "model": self.model,
            "messages": list(messages),
            "stream": False,
            "options": {"temperature": 0, "num_predict": max_tokens},
        }
        reply = self._post("/api/chat", payload, headers={})
        content = _dig(reply, "message", "content")
        if not isinstance(content, str):
            raise LLMError(f"Ollama at {self.base_url} replied without message.content: {reply!r}")
        return content.strip()

    def _start_hint(self) -> str:
        return "start it with `ollama serve`, or set ace.backend to local"

    def _not_found(self, response: requests.Response) -> str:
        return (
            f"Ollama at {self.base_url} has no model '{self.model}': "
            f"run `ollama pull {self.model}` or set ace.model"
        )


class OpenAIChat(_HttpChat):
    """``POST {base_url}/chat/completions`` as llama.cpp's server, vLLM and LM Studio speak it."""

    service = "OpenAI-compatible server"

    def __init__(self, config: AceConfig) -> None:
        super().__init__(config)
        key = os.environ.get(config.api_key_env, "") if config.api_key_env else ""
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def chat(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> str:
        payload = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": 0,
            "stream": False,
        }
        reply = self._post("/chat/completions", payload, headers=self.headers)
        choices = _dig(reply, "choices")
        content = _dig(choices[0], "message", "content") if isinstance(choices, list) else None
        if not isinstance(content, str):
            raise LLMError(
                f"{self.service} at {self.base_url} replied without "
                f"choices[0].message.content: {_snippet(str(reply))}"
            )
        return content.strip()


def make_chat_model(config: AceConfig, backbone: Backbone) -> ChatModel:
    if config.backend == "ollama":
        return OllamaChat(config)
    if config.backend == "openai":
        return OpenAIChat(config)
    return LocalChat(backbone)


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
