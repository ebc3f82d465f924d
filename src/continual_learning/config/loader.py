"""Layered configuration: tracked defaults, then the user's file, then the environment.

- ``configs/default.yaml`` holds the defaults and is never written by the program.
- The user config file (``$CL_CONFIG``, else the platform's user config folder) holds only what
  the user changed, through ``continual-learning config set`` or by hand.
- ``CL__SECTION__KEY=value`` environment variables override both, for one run.

A profile (``--profile FILE`` or ``$CL_PROFILE``, e.g. ``configs/qwen2.5-1.5b.yaml``) sits
between the defaults and the user file: a named set of changes for one setup.

Every layer is validated against the typed sections, so a typo in any of them is a one-line
error that names the key and where it came from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from continual_learning.config.fields import build_section, parse_text_value, section_fields
from continual_learning.config.schema import CORE_SECTIONS, AppConfig
from continual_learning.core.paths import APP_NAME, project_root
from continual_learning.core.storage import atomic_write_text
from continual_learning.errors import ConfigError

ENV_PREFIX = "CL__"
PROFILE_VARIABLE = "CL_PROFILE"
RawConfig = dict[str, dict[str, Any]]


def default_config_path() -> Path:
    """The tracked defaults: the checkout's ``configs/default.yaml``, or the packaged copy."""
    root = project_root()
    if root is not None:
        return root / "configs" / "default.yaml"
    return Path(str(resources.files("continual_learning") / "_configs" / "default.yaml"))


def user_config_path() -> Path:
    if os.environ.get("CL_CONFIG"):
        return Path(os.environ["CL_CONFIG"]).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "config.yaml"


def all_sections() -> dict[str, type]:
    """Section name -> dataclass, for the core sections and every registered engine."""
    from continual_learning.engines.registry import engine_specs

    sections = dict(CORE_SECTIONS)
    sections.update({spec.key: spec.config_cls for spec in engine_specs()})
    return sections


def read_yaml_config(path: Path, *, missing_ok: bool) -> RawConfig:
    """Read a config YAML file into ``{section: {key: value}}`` (shape checked, values not yet)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise ConfigError(f"config file not found: {path}") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}" if where else ""
        raise ConfigError(f"config file {path}{line} is not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict | None) for v in data.values()):
        raise ConfigError(f"config file {path} must map section names to mappings of settings")
    return {str(k): dict(v or {}) for k, v in data.items()}


def configuring_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment variables that change this run's configuration (``CL__`` overrides and
    ``CL_PROFILE``), sorted by name: a record of a run must carry them for it to be rerun.
    ``CL_CONFIG`` is left out: it names a private file, not a setting."""
    environ = os.environ if environ is None else environ
    return {
        name: value
        for name, value in sorted(environ.items())
        if name.startswith(ENV_PREFIX) or name == PROFILE_VARIABLE
    }


def read_env_overrides(environ: Mapping[str, str], sections: Mapping[str, type]) -> RawConfig:
    """``CL__MODEL__NAME=x`` -> ``{"model": {"name": "x"}}``, values typed by their field."""
    raw: RawConfig = {}
    for variable, text in environ.items():
        if not variable.startswith(ENV_PREFIX):
            continue
        parts = variable[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) != 2:
            raise ConfigError(f"environment variable {variable}: use CL__SECTION__KEY=value")
        section, key = parts
        annotation = _field_type(sections, section, key, source=f"environment variable {variable}")
        raw.setdefault(section, {})[key] = parse_text_value(text, annotation)
    return raw


def _field_type(sections: Mapping[str, type], section: str, key: str, *, source: str) -> Any:
    if section not in sections:
        raise ConfigError(f"unknown config section '{section}' in {source}")
    known = section_fields(sections[section])
    if key not in known:
        raise ConfigError(f"unknown config key '{section}.{key}' in {source}")
    return known[key][1]


def merge(*layers: Mapping[str, Mapping[str, Any]]) -> RawConfig:
    merged: RawConfig = {}
    for layer in layers:
        for section, values in layer.items():
            merged.setdefault(section, {}).update(values)
    return merged


def build_app_config(raw: RawConfig, sections: Mapping[str, type] | None = None) -> AppConfig:
    """Validate a merged raw config into an :class:`AppConfig`."""
    sections = all_sections() if sections is None else sections
    for name in raw:
        if name not in sections:
            raise ConfigError(f"unknown config section '{name}' (known: {', '.join(sections)})")
    built: dict[str, Any] = {
        name: build_section(cls, raw.get(name), name) for name, cls in sections.items()
    }
    core = {name: built[name] for name in CORE_SECTIONS}
    engines = {name: value for name, value in built.items() if name not in CORE_SECTIONS}
    return AppConfig(**core, engines=engines)


@dataclass(frozen=True, kw_only=True)
class ConfigLayers:
    """The three raw layers, kept apart so ``config show`` can say where each value came from."""

    default: RawConfig
    profile: RawConfig
    user: RawConfig
    env: RawConfig
    user_path: Path

    def merged(self) -> RawConfig:
        return merge(self.default, self.profile, self.user, self.env)

    def source_of(self, section: str, key: str) -> str:
        for label, layer in (("env", self.env), ("user", self.user), ("profile", self.profile)):
            if key in layer.get(section, {}):
                return label
        return "default"


def read_layers(
    *,
    user_path: Path | None = None,
    profile_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> ConfigLayers:
    environ = os.environ if environ is None else environ
    user_path = user_path or user_config_path()
    if profile_path is None and environ.get(PROFILE_VARIABLE):
        profile_path = Path(environ[PROFILE_VARIABLE]).expanduser()
    sections = all_sections()
    default_path = default_config_path()
    default = read_yaml_config(default_path, missing_ok=False)
    profile = read_yaml_config(profile_path, missing_ok=False) if profile_path else {}
    user = read_yaml_config(user_path, missing_ok=True)
    env = read_env_overrides(environ, sections)
    # Validate each layer alone first so an error names the file it is in.
    for path, layer in ((default_path, default), (profile_path, profile), (user_path, user)):
        try:
            build_app_config(layer, sections)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (in {path})") from None
    return ConfigLayers(default=default, profile=profile, user=user, env=env, user_path=user_path)


def load_config(
    *,
    user_path: Path | None = None,
    profile_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> AppConfig:
    """The effective configuration for this run."""
    layers = read_layers(user_path=user_path, profile_path=profile_path, environ=environ)
    return build_app_config(layers.merged())


def set_user_value(key: str, text: str, *, user_path: Path | None = None) -> AppConfig:
    """``config set section.key VALUE``: validate, then write only the user config file."""
    layers = read_layers(user_path=user_path, environ={})
    section, _, name = key.partition(".")
    if not name:
        raise ConfigError(f"config key '{key}': use SECTION.KEY, for example model.device")
    annotation = _field_type(all_sections(), section, name, source="config set")
    user = merge(layers.user, {section: {name: parse_text_value(text, annotation)}})
    config = build_app_config(merge(layers.default, user))
    atomic_write_text(layers.user_path, yaml.safe_dump(user, sort_keys=True))
    return config


def config_rows(layers: ConfigLayers) -> list[tuple[str, Any, str]]:
    """``(section.key, value, source)`` for every setting, for ``config show``."""
    config = build_app_config(layers.merged())
    rows = []
    for section, value in [
        *((n, getattr(config, n)) for n in CORE_SECTIONS),
        *config.engines.items(),
    ]:
        for field in fields(value):
            shown = getattr(value, field.name)
            shown = list(shown) if isinstance(shown, tuple) else shown
            rows.append((f"{section}.{field.name}", shown, layers.source_of(section, field.name)))
    return rows
