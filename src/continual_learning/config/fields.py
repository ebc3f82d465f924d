"""Declarative settings: a dataclass field that knows its range, and a builder that enforces it.

Config sections are frozen, keyword-only dataclasses whose fields are declared with
:func:`setting`. :func:`build_section` turns a plain mapping (from YAML or the environment) into
such a dataclass, rejecting unknown keys, wrong types and out-of-range values with a one-line
:class:`~continual_learning.errors.ConfigError` that names the full key (``model.dtype``). Keeping
the rules on the field means the error message, the validation and ``config set`` can never drift
apart.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin

from continual_learning.errors import ConfigError

T = TypeVar("T")


def setting(
    default: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    help: str = "",
) -> Any:
    """A config field with an inclusive numeric range and a one-line description."""
    metadata = {"minimum": minimum, "maximum": maximum, "help": help}
    if isinstance(default, list | dict):
        raise TypeError("use tuples for sequence defaults so configs stay immutable")
    return dataclasses.field(default=default, metadata=metadata)


def _describe(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(annotation))
    if get_origin(annotation) is tuple:
        return f"a list of {_describe(get_args(annotation)[0])}"
    return getattr(annotation, "__name__", str(annotation))


def coerce(value: Any, annotation: Any, key: str) -> Any:
    """Check ``value`` against ``annotation`` (int, float, str, bool, Literal, tuple[X, ...])."""
    origin = get_origin(annotation)
    bad = ConfigError(f"config key '{key}': expected {_describe(annotation)}, got {value!r}")
    if origin is Literal:
        if value not in get_args(annotation):
            raise bad
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise bad
        (item_type, _ellipsis) = get_args(annotation)
        return tuple(coerce(v, item_type, f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        options = get_args(annotation)
        if value is None and type(None) in options:
            return None
        inner = [o for o in options if o is not type(None)]
        return coerce(value, inner[0], key)
    if annotation is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise bad
        return value
    raise TypeError(f"unsupported config type {annotation!r} for '{key}'")


def _check_range(value: Any, field: dataclasses.Field[Any], key: str) -> None:
    low, high = field.metadata.get("minimum"), field.metadata.get("maximum")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    if low is not None and value < low:
        raise ConfigError(f"config key '{key}': must be >= {low}, got {value!r}")
    if high is not None and value > high:
        raise ConfigError(f"config key '{key}': must be <= {high}, got {value!r}")


def section_fields(cls: type) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    """Field name -> (field, resolved type annotation) for a config section dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls)}


def build_section(cls: type[T], data: Mapping[str, Any] | None, prefix: str) -> T:
    """Build config section ``cls`` from ``data``; every problem names ``prefix.key``."""
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ConfigError(f"config key '{prefix}': expected a mapping of settings, got {data!r}")
    known = section_fields(cls)
    for key in data:
        if key not in known:
            choices = ", ".join(sorted(known)) or "none"
            raise ConfigError(f"unknown config key '{prefix}.{key}' (known: {choices})")
    values = {}
    for name, (field, annotation) in known.items():
        if name not in data:
            continue
        full_key = f"{prefix}.{name}"
        value = coerce(data[name], annotation, full_key)
        _check_range(value, field, full_key)
        values[name] = value
    return cls(**values)


def parse_text_value(text: str, annotation: Any) -> Any:
    """Turn a command-line or environment string into a value for a field of ``annotation``.

    Strings stay strings (a model called ``1e5`` is still a name); everything else is read as
    YAML, so ``true``, ``3``, ``0.5`` and ``[a, b]`` mean what they look like.
    """
    import yaml

    if annotation is str:
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text
