"""Shared Rich consoles: results go to stdout, errors and progress to stderr."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def print_error(message: str) -> None:
    """One line, no traceback: what every WorkbenchError looks like to a user."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)


def print_notice(message: str) -> None:
    """One line on stderr the user should know about (a wait, a shared machine)."""
    err_console.print(f"[yellow]{message}[/]", highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no colour codes), for scripts."""
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
