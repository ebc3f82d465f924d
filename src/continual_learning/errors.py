"""Every error the workbench raises on purpose.

All of them derive from :class:`WorkbenchError`, whose message is one line meant for a person:
the CLI prints it as ``error: <message>`` and exits non-zero, with no traceback. Anything else
escaping to the CLI is a bug.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class: a clear, one-line, user-facing failure."""

    exit_code = 1


class ConfigError(WorkbenchError):
    """A config file, key or value is wrong. The message names the key."""

    exit_code = 2


class DocumentError(WorkbenchError):
    """A document cannot be read: missing, empty, binary, not UTF-8, too large or malformed."""

    exit_code = 3


class ModelError(WorkbenchError):
    """A model cannot be found, fetched, verified or loaded."""

    exit_code = 4


class DatasetError(WorkbenchError):
    """A dataset (SQuAD, question files) is missing or malformed."""

    exit_code = 3


class PromptError(WorkbenchError):
    """A question the model cannot be asked: empty, or longer than it can read."""

    exit_code = 3


class EngineError(WorkbenchError):
    """An engine name is unknown, or an engine cannot do what was asked."""

    exit_code = 5


class StateError(WorkbenchError):
    """Saved engine state or a checkpoint is missing, corrupt or made for something else."""

    exit_code = 6


class LLMError(EngineError):
    """An LLM server is down, lacks the model, times out or replies with something unusable."""


class PlaybookError(StateError):
    """A playbook file or a Curator's edit is malformed; the playbook is left as it was."""


class BusyError(WorkbenchError):
    """Another process holds the state this command would change (and it was told not to wait)."""

    exit_code = 7
