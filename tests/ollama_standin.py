"""A STAND-IN for an Ollama server: Ollama's HTTP API in front of a real llama.cpp server.

No Ollama binary runs on these machines, so ACE's ``ollama`` backend is tested against this
small server instead. It is the project's only stand-in, and it fakes only the protocol: every
answer comes from the real SmolLM2 model that llama.cpp (``xllamacpp``) serves, reached through
its OpenAI-style ``/v1/chat/completions``. It speaks what the official ``ollama`` Python client
uses (``/api/chat``, ``/api/generate``, ``/api/tags``, ``/api/version``), answers 404 with
Ollama's wording for a model it does not have, and can be told to misbehave (5xx replies, a
reply that is not JSON, a slow reply) so the backend's retries and errors meet a real socket.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


@dataclass
class Faults:
    """Misbehaviour for the next requests to /api/chat and /api/generate."""

    server_errors: int = 0
    """Answer this many requests with HTTP 503 first."""
    garbage: int = 0
    """Then answer this many with a body that is not JSON."""
    delay_seconds: float = 0.0
    """Wait this long before every answer."""
    fail_after: int | None = None
    """Answer this many requests normally, then every later one with HTTP 503."""
    requests: int = field(default=0)
    """How many chat/generate requests arrived (retries included)."""


class OllamaStandIn:
    """Start with :meth:`start`, stop with :meth:`stop`; ``url`` is its base address."""

    def __init__(self, upstream: str, model: str = "smollm2:135m") -> None:
        self.upstream = upstream.rstrip("/")
        self.model = model
        self.faults = Faults()
        self.stopped = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return "http" + f"://{host}:{port}"

    def start(self) -> OllamaStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()

    def complete(self, messages: list[dict[str, str]], options: dict[str, Any]) -> dict[str, Any]:
        """Forward to llama.cpp and return its OpenAI-style reply."""
        payload = {
            "messages": messages,
            "max_tokens": int(options.get("num_predict", 128)),
            "temperature": float(options.get("temperature", 0.8)),
            "stream": False,
        }
        response = requests.post(f"{self.upstream}/v1/chat/completions", json=payload, timeout=300)
        response.raise_for_status()
        return response.json()


def _handler_for(standin: OllamaStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def do_GET(self) -> None:
            if self.path == "/api/tags":
                self._json(200, {"models": [_model_entry(standin.model)]})
            elif self.path == "/api/version":
                self._json(200, {"version": "0.0.0-standin"})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            if self.path not in ("/api/chat", "/api/generate"):
                self._json(404, {"error": "not found"})
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            faults = standin.faults
            faults.requests += 1
            time.sleep(faults.delay_seconds)
            if standin.stopped.is_set():  # a slow reply nobody waits for any more
                return
            failing = faults.fail_after is not None and faults.requests > faults.fail_after
            if failing or faults.server_errors > 0:
                faults.server_errors = max(faults.server_errors - 1, 0)
                self._json(503, {"error": "server busy"})
                return
            if faults.garbage > 0:
                faults.garbage -= 1
                self._raw(200, b"<html>this is not JSON</html>", "text/html")
                return
            if body.get("model") != standin.model:
                self._json(
                    404, {"error": f'model "{body.get("model")}" not found, try pulling it first'}
                )
                return
            if self.path == "/api/chat":
                self._chat(body)
            else:
                self._generate(body)

        def _chat(self, body: dict[str, Any]) -> None:
            reply = standin.complete(body.get("messages", []), body.get("options") or {})
            content = reply["choices"][0]["message"]["content"]
            self._answer(body, {"message": {"role": "assistant", "content": content}}, reply)

        def _generate(self, body: dict[str, Any]) -> None:
            messages = [{"role": "user", "content": body.get("prompt", "")}]
            if body.get("system"):
                messages.insert(0, {"role": "system", "content": body["system"]})
            reply = standin.complete(messages, body.get("options") or {})
            content = reply["choices"][0]["message"]["content"]
            self._answer(body, {"response": content}, reply)

        def _answer(
            self, body: dict[str, Any], part: dict[str, Any], reply: dict[str, Any]
        ) -> None:
            usage = reply.get("usage", {})
            final = {
                "model": standin.model,
                "created_at": datetime.now(UTC).isoformat(),
                **part,
                "done": True,
                "done_reason": "stop",
                "prompt_eval_count": usage.get("prompt_tokens", 0),
                "eval_count": usage.get("completion_tokens", 0),
            }
            if body.get("stream", True):  # Ollama streams NDJSON unless told not to
                self._raw(200, (json.dumps(final) + "\n").encode(), "application/x-ndjson")
            else:
                self._json(200, final)

        def _json(self, status: int, data: Any) -> None:
            self._raw(status, json.dumps(data).encode(), "application/json")

        def _raw(self, status: int, data: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout tests do that on purpose)

    return Handler


def _model_entry(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": datetime.now(UTC).isoformat(),
        "size": 0,
        "digest": "standin",
        "details": {"format": "gguf", "family": "llama", "parameter_size": "135M"},
    }
