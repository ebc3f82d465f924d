"""ACE's LLM backends against real servers on 127.0.0.1: llama.cpp for ``openai``, the Ollama
stand-in (forwarding to the same llama.cpp) for ``ollama``, and the official ``ollama`` client
checking that the stand-in speaks Ollama's protocol."""

from __future__ import annotations

import socket
import time

import pytest

from continual_learning.engines.ace.config import AceConfig
from continual_learning.engines.ace.llm import OllamaChat, OpenAIChat
from continual_learning.errors import LLMError

from ollama_standin import OllamaStandIn

MESSAGES = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


def _openai(url: str, **overrides) -> OpenAIChat:  # type: ignore[no-untyped-def]
    return OpenAIChat(
        AceConfig(backend="openai", model="smollm2", base_url=f"{url}/v1", **overrides)
    )


def _ollama(standin: OllamaStandIn, **overrides) -> OllamaChat:  # type: ignore[no-untyped-def]
    settings = {"model": standin.model, "retry_backoff_seconds": 0.01, **overrides}
    return OllamaChat(AceConfig(backend="ollama", base_url=standin.url, **settings))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_openai_backend_answers_greedily(llama_server: str) -> None:
    chat = _openai(llama_server)
    first = chat.chat(MESSAGES, max_tokens=12)
    assert first and "Paris" in first
    assert chat.chat(MESSAGES, max_tokens=12) == first  # temperature 0: repeatable


def test_ollama_backend_through_the_standin_matches_the_server(
    llama_server: str, ollama_standin: OllamaStandIn
) -> None:
    via_ollama = _ollama(ollama_standin).chat(MESSAGES, max_tokens=12)
    assert via_ollama == _openai(llama_server).chat(MESSAGES, max_tokens=12)


def test_the_official_ollama_client_speaks_to_the_standin(ollama_standin: OllamaStandIn) -> None:
    import ollama

    client = ollama.Client(host=ollama_standin.url)
    assert [m.model for m in client.list().models] == [ollama_standin.model]
    options = {"temperature": 0, "num_predict": 12}
    reply = client.chat(model=ollama_standin.model, messages=MESSAGES, options=options)
    assert reply.message.content.strip() == _ollama(ollama_standin).chat(MESSAGES, max_tokens=12)
    generated = client.generate(
        model=ollama_standin.model, prompt=MESSAGES[0]["content"], options=options
    )
    assert generated.response.strip()
    with pytest.raises(ollama.ResponseError, match="not found"):
        client.chat(model="qwen3.5:9b", messages=MESSAGES)


def test_a_server_that_is_down_is_a_clear_error_after_bounded_retries() -> None:
    config = AceConfig(
        backend="ollama",
        base_url="http" + f"://127.0.0.1:{_free_port()}",
        max_retries=2,
        retry_backoff_seconds=0.05,
    )
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"not reachable \(start it with `ollama serve`"):
        OllamaChat(config).chat(MESSAGES, max_tokens=4)
    assert time.monotonic() - started < 10
    with pytest.raises(LLMError, match="OpenAI-compatible server .* is not reachable"):
        OpenAIChat(AceConfig(backend="openai", base_url=config.base_url, max_retries=0)).chat(
            MESSAGES, max_tokens=4
        )


def test_a_missing_model_names_the_pull_command(ollama_standin: OllamaStandIn) -> None:
    with pytest.raises(LLMError, match=r"no model 'qwen3.5:9b': run `ollama pull qwen3.5:9b`"):
        _ollama(ollama_standin, model="qwen3.5:9b").chat(MESSAGES, max_tokens=4)


def test_server_errors_are_retried_with_backoff(ollama_standin: OllamaStandIn) -> None:
    ollama_standin.faults.server_errors = 2
    assert _ollama(ollama_standin, max_retries=2).chat(MESSAGES, max_tokens=8)
    assert ollama_standin.faults.requests == 3
    ollama_standin.faults.server_errors = 5
    with pytest.raises(LLMError, match="HTTP 503"):
        _ollama(ollama_standin, max_retries=1).chat(MESSAGES, max_tokens=8)


def test_a_reply_that_is_not_json_is_a_clear_error(ollama_standin: OllamaStandIn) -> None:
    ollama_standin.faults.garbage = 1
    with pytest.raises(LLMError, match="not JSON: <html>this is not JSON"):
        _ollama(ollama_standin).chat(MESSAGES, max_tokens=4)


def test_a_slow_server_times_out(ollama_standin: OllamaStandIn) -> None:
    ollama_standin.faults.delay_seconds = 1.0
    with pytest.raises(LLMError, match=r"did not answer within 0.2 s"):
        _ollama(ollama_standin, timeout_seconds=0.2, max_retries=1).chat(MESSAGES, max_tokens=4)
    assert ollama_standin.faults.requests == 2  # the first try and one retry
