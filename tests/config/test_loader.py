from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
import yaml

from continual_learning.config.loader import (
    all_sections,
    build_app_config,
    default_config_path,
    load_config,
    read_layers,
    read_yaml_config,
    set_user_value,
)
from continual_learning.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_default_yaml_states_every_default_of_the_dataclasses() -> None:
    """configs/default.yaml and the dataclass defaults must never disagree."""
    raw = read_yaml_config(default_config_path(), missing_ok=False)
    for section, cls in all_sections().items():
        written = raw.get(section, {})
        for field in dataclasses.fields(cls):
            value = written.get(field.name)
            if isinstance(field.default, tuple):  # YAML has lists; the loader makes tuples
                value = tuple(value)
            assert value == field.default, f"{section}.{field.name}"
        assert set(written) == {f.name for f in dataclasses.fields(cls)}, section


def test_every_registered_engine_has_a_section(app_config) -> None:
    from continual_learning.engines.registry import engine_specs

    for spec in engine_specs():
        assert isinstance(app_config.engine(spec.key), spec.config_cls)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"model": {"nmae": "x"}}, "unknown config key 'model.nmae'"),
        ({"modle": {}}, "unknown config section 'modle'"),
        ({"model": {"device": "gpu"}}, "config key 'model.device': expected one of"),
        ({"generation": {"max_new_tokens": "many"}}, "'generation.max_new_tokens': expected int"),
        ({"generation": {"max_new_tokens": 0}}, "'generation.max_new_tokens': must be >= 1"),
        ({"generation": {"do_sample": "yes"}}, "'generation.do_sample': expected bool"),
        ({"in_context": {"overflow": "random"}}, "'in_context.overflow'"),
    ],
)
def test_bad_values_name_the_key(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_app_config(raw)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_layers_user_then_environment_override_defaults(tmp_path: Path) -> None:
    user = tmp_path / "user.yaml"
    user.write_text("generation:\n  max_new_tokens: 12\nmodel:\n  device: cpu\n")
    environ = {"CL__GENERATION__MAX_NEW_TOKENS": "7", "CL__MODEL__NAME": "1e5"}
    config = load_config(user_path=user, environ=environ)
    assert config.generation.max_new_tokens == 7
    assert config.model.device == "cpu"
    assert config.model.name == "1e5"  # a string field keeps the text as typed
    layers = read_layers(user_path=user, environ=environ)
    assert layers.source_of("generation", "max_new_tokens") == "env"
    assert layers.source_of("model", "device") == "user"
    assert layers.source_of("model", "dtype") == "default"


def test_bad_environment_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CL__MODEL__NOPE"):
        load_config(user_path=tmp_path / "none.yaml", environ={"CL__MODEL__NOPE": "1"})
    with pytest.raises(ConfigError, match="'generation.max_new_tokens': must be >= 1"):
        load_config(
            user_path=tmp_path / "none.yaml", environ={"CL__GENERATION__MAX_NEW_TOKENS": "0"}
        )


def test_config_set_writes_only_the_user_file(tmp_path: Path) -> None:
    default = default_config_path()
    before = hashlib.sha256(default.read_bytes()).hexdigest()
    user = tmp_path / "nested" / "user.yaml"
    config = set_user_value("generation.max_new_tokens", "33", user_path=user)
    assert config.generation.max_new_tokens == 33
    assert yaml.safe_load(user.read_text()) == {"generation": {"max_new_tokens": 33}}
    set_user_value("model.device", "cpu", user_path=user)
    assert yaml.safe_load(user.read_text())["generation"]["max_new_tokens"] == 33
    assert hashlib.sha256(default.read_bytes()).hexdigest() == before


def test_config_set_refuses_bad_values_and_keeps_the_file(tmp_path: Path) -> None:
    user = tmp_path / "user.yaml"
    set_user_value("generation.max_new_tokens", "20", user_path=user)
    saved = user.read_text()
    for key, value in [("generation.max_new_tokens", "-1"), ("model.nope", "1"), ("model", "x")]:
        with pytest.raises(ConfigError):
            set_user_value(key, value, user_path=user)
    assert user.read_text() == saved


def test_malformed_yaml_is_a_one_line_error(tmp_path: Path) -> None:
    user = tmp_path / "user.yaml"
    user.write_text("model:\n  name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML") as caught:
        load_config(user_path=user, environ={})
    assert "\n" not in str(caught.value)
    user.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="must map section names"):
        load_config(user_path=user, environ={})


def test_qwen_profile_reproduces_the_reference_setup(tmp_path: Path) -> None:
    profile = REPO / "configs" / "qwen2.5-1.5b.yaml"
    config = load_config(user_path=tmp_path / "none.yaml", profile_path=profile, environ={})
    assert config.model.name == "Qwen/Qwen2.5-1.5B"
    layers = read_layers(user_path=tmp_path / "none.yaml", profile_path=profile, environ={})
    assert layers.source_of("model", "name") == "profile"
