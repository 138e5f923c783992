from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from bench.config import ConfigError, build, load_config, to_dict


@dataclass(frozen=True)
class Inner:
    name: str
    weight: float = 1.0


@dataclass(frozen=True)
class Outer:
    metrics: list[str]
    mode: Literal["clean", "legacy"] = "clean"
    seeds: tuple[int, ...] = (0,)
    output: Path | None = None
    inner: Inner | None = None
    grid: dict[str, list[int]] = field(default_factory=dict)


def test_builds_and_converts_types():
    cfg = build(
        Outer,
        {
            "metrics": ["psnr"],
            "seeds": [1, 2],
            "output": "runs/x",
            "inner": {"name": "a", "weight": 2},
            "grid": {"N": [4, 8]},
        },
    )
    assert cfg.seeds == (1, 2)
    assert cfg.output == Path("runs/x")
    assert cfg.inner == Inner("a", 2.0)
    assert cfg.grid == {"N": [4, 8]}
    with pytest.raises(AttributeError):
        cfg.mode = "legacy"  # frozen


def test_misspelled_key_names_file_key_and_suggestion(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("metircs: [psnr]\n")
    with pytest.raises(ConfigError) as err:
        load_config(Outer, path)
    message = str(err.value)
    assert str(path) in message
    assert "unknown key 'metircs'" in message
    assert "did you mean 'metrics'" in message


def test_nested_misspelling_names_position():
    with pytest.raises(
        ConfigError, match=r"x.yaml: inner: unknown key 'wieght'; did you mean 'weight'"
    ):
        build(Outer, {"metrics": [], "inner": {"name": "a", "wieght": 2}}, where="x.yaml")


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        ({}, "missing required key 'metrics'"),
        ({"metrics": "psnr"}, "metrics: expected a list"),
        ({"metrics": [], "mode": "clena"}, "not one of 'clean', 'legacy'; did you mean 'clean'"),
        ({"metrics": [], "seeds": [True]}, r"seeds\[0\]: expected int"),
        ({"metrics": [1]}, r"metrics\[0\]: expected str"),
        ([1, 2], "expected a mapping"),
    ],
)
def test_type_errors(data, pattern):
    with pytest.raises(ConfigError, match=pattern):
        build(Outer, data)


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("metrics: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(Outer, path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(Outer, tmp_path / "nope.yaml")


def test_to_dict_round_trips():
    cfg = build(Outer, {"metrics": ["a"], "output": "o", "inner": {"name": "n"}})
    assert build(Outer, to_dict(cfg)) == cfg
    assert to_dict(cfg)["output"] == "o"


def test_docstring_examples():
    import doctest

    import bench.config

    assert doctest.testmod(bench.config).failed == 0
