"""A sweep spec is checked before any job starts, and expands to the grid it describes."""

from __future__ import annotations

from pathlib import Path

import pytest

from continual_learning.errors import ConfigError, EngineError
from continual_learning.harness.sweep import parse_spec, read_spec


def test_the_grid_is_datasets_by_variants_by_seeds_with_baselines_per_dataset_and_seed() -> None:
    spec = parse_spec(
        {
            "seeds": 2,
            "datasets": ["facts", {"name": "squad", "n": 4}],
            "engines": [
                "jitrl-mvp",
                {"engine": "ttt-e2e", "grid": {"gate_fraction": [0.1, 1.0], "epochs": [1, 2]}},
                {
                    "engine": "replay-lora",
                    "label": "no replay",
                    "overrides": {"min_replay_ratio": 0},
                },
            ],
        }
    )
    labels = [r.name for r in spec.runs]
    assert labels == [
        "jitrl-mvp",
        "ttt-e2e gate_fraction=0.1 epochs=1",
        "ttt-e2e gate_fraction=0.1 epochs=2",
        "ttt-e2e gate_fraction=1.0 epochs=1",
        "ttt-e2e gate_fraction=1.0 epochs=2",
        "no replay",
    ]
    jobs = spec.jobs()
    assert len(jobs) == 2 * 2 * (3 + 6)  # datasets x seeds x (baselines + variants)
    assert len({j.key for j in jobs}) == len(jobs)
    assert spec.runs[1].overrides == {"gate_fraction": 0.1, "epochs": 1}


def test_compare_mode_runs_the_untrained_baselines_under_one_seed_only() -> None:
    spec = parse_spec({"mode": "compare", "seeds": [3, 7], "engines": ["ttt-e2e"]})
    jobs = [(j.run.name, j.seed) for j in spec.jobs()]
    assert jobs == [
        ("closed-book", 3),
        ("in-context", 3),
        ("oracle-context", 3),
        ("ttt-e2e", 3),
        ("ttt-e2e", 7),
    ]


def test_a_job_key_is_stable_and_changes_with_what_the_job_is() -> None:
    def key(overrides: dict) -> str:
        spec = parse_spec({"engines": [{"engine": "ttt-e2e", "overrides": overrides}]})
        return spec.jobs()[-1].key

    assert key({"epochs": 2}) == key({"epochs": 2})
    assert key({"epochs": 2}) != key({"epochs": 3})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"engines": ["jitrl-mvp"], "modes": "stream"}, "unknown key"),
        ({"engines": []}, "'engines' must be a non-empty list"),
        ({}, "'engines' is required"),
        ({"engines": ["jitrl-mvp"], "mode": "race"}, "'mode' must be stream or compare"),
        ({"engines": ["jitrl-mvp"], "seeds": 0}, "'seeds'"),
        ({"engines": ["jitrl-mvp"], "seeds": [1, 1]}, "'seeds'"),
        ({"engines": ["jitrl-mvp"], "episodes": "four"}, "'episodes'"),
        ({"engines": ["jitrl-mvp"], "datasets": ["mnist"]}, "each is one of facts"),
        ({"engines": ["jitrl-mvp"], "datasets": [{"name": "files"}]}, "needs 'documents'"),
        ({"engines": ["jitrl-mvp"], "datasets": [{"name": "facts", "n": 3}]}, "unknown key"),
        (
            {"engines": ["jitrl-mvp"], "datasets": [{"name": "facts", "fact_set": "holdout"}]},
            "fact_set is one of shipped, tuning, test",
        ),
        ({"engines": [{"engine": "ttt-e2e", "overrides": {"lr": 1}}]}, "ttt_e2e.lr"),
        ({"engines": [{"engine": "ttt-e2e", "grid": {"epochs": 2}}]}, "must list its values"),
        ({"engines": [{"engine": "ttt-e2e", "grid": {"epochs": [0]}}]}, "ttt_e2e.epochs"),
        ({"engines": ["closed-book"]}, "always runs"),
        ({"engines": ["jitrl-mvp", "jitrl-mvp"]}, "used twice"),
        ({"engines": ["jitrl-mvp"], "settings": {"model": 3}}, "'settings'"),
    ],
)
def test_every_mistake_in_a_spec_names_its_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_spec(data)


def test_an_unknown_engine_and_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="unknown engine"):
        parse_spec({"engines": ["gpt-9"]})
    with pytest.raises(ConfigError, match="not found"):
        read_spec(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("engines: [jitrl-mvp\n")
    with pytest.raises(ConfigError, match="cannot be read"):
        read_spec(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- jitrl-mvp\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        read_spec(listing)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ConfigError, match="cannot be read"):
        read_spec(binary)


@pytest.mark.parametrize(
    "path",
    sorted((Path(__file__).parents[2] / "configs" / "sweeps").glob("*.yaml")),
    ids=lambda path: path.name,
)
def test_the_shipped_specs_read(path: Path) -> None:
    spec = read_spec(path)
    assert spec.jobs()  # every shipped spec has work in it


def test_a_squad_dataset_learns_its_paragraphs_episode_by_episode(
    squad_dev_path: Path, tmp_path: Path
) -> None:
    from continual_learning.config.loader import load_config
    from continual_learning.harness.sweep.run import dataset_inputs

    spec = parse_spec(
        {
            "mode": "compare",
            "datasets": [{"name": "squad", "n": 6, "last_articles": 5, "episode_size": 2}],
            "engines": ["jitrl-mvp"],
            "heldout": 2,
        }
    )
    config = load_config(
        user_path=tmp_path / "none.yaml", environ={"CL__SQUAD__PATH": str(squad_dev_path)}
    )
    inputs = dataset_inputs(spec.datasets[0], spec, config)
    assert [len(documents) for documents, _ in inputs.episodes()] == [2, 2, 2]
    assert spec.datasets[0].label == "squad(episode_size=2,last_articles=5,n=6)"


def test_a_facts_dataset_can_be_either_half_of_the_45_documents(tmp_path: Path) -> None:
    from continual_learning.config.loader import load_config
    from continual_learning.harness.sweep.run import dataset_inputs

    spec = parse_spec(
        {"datasets": [{"name": "facts", "fact_set": "tuning"}], "engines": ["jitrl-mvp"]}
    )
    config = load_config(user_path=tmp_path / "none.yaml", environ={"CL__SQUAD__PATH": ""})
    inputs = dataset_inputs(spec.datasets[0], spec, config)
    assert (inputs.dataset, len(inputs.documents)) == ("fictional-facts:tuning", 22)
    assert spec.datasets[0].label == "facts(fact_set=tuning)"
