"""Protocol presets: every preset is valid, expands into run configs and the score command."""

from __future__ import annotations

import json

import pytest
import yaml

from bench.cli import main
from bench.config import ConfigError
from bench.protocols import expand, load_protocol, protocol_names
from bench.registry import METRICS
from bench.run.config import load_run_config


@pytest.mark.parametrize("name", protocol_names())
def test_every_preset_names_real_metrics_with_valid_parameters(name):
    protocol = load_protocol(name)
    assert protocol.follows and protocol.title and protocol.notes
    for entry in protocol.metrics:
        metric = METRICS.create(entry["name"], **(entry.get("params") or {}))
        assert metric.config()  # the parameters are accepted and recorded
    labels = {entry.get("label") or entry["name"] for entry in protocol.metrics}
    assert protocol.table and all(set(columns) <= labels for columns in protocol.table.values())


def test_the_vqfr_preset_is_vqfrs_scripts():
    protocol = load_protocol("vqfr")
    names = [entry["name"] for entry in protocol.metrics]
    assert names == ["psnr.vqfr", "ssim.vqfr", "lpips.vgg", "fid", "deg.vqfr", "lmd.fan", "niqe"]
    fid = next(entry for entry in protocol.metrics if entry["name"] == "fid")
    assert fid["params"] == {"mode": "legacy", "reference": "weights:inception_ffhq512_stats"}
    assert protocol.titles["deg.vqfr"] == "Deg." and protocol.titles["lmd.fan"] == "LMD"


def test_own_entries_update_a_preset_entry_or_add_to_it():
    protocol = load_protocol("vqfr")
    own = [
        {"name": "fid", "params": {"reference": "/data/ffhq.npz"}},
        {"name": "kid"},
        {"name": "fid", "label": "fid_gt", "params": {"mode": "legacy"}},
    ]
    merged = {entry.get("label") or entry["name"]: entry for entry in expand(protocol, own)}
    assert merged["fid"]["params"] == {"mode": "legacy", "reference": "/data/ffhq.npz"}
    assert list(merged)[-2:] == ["kid", "fid_gt"]
    assert len(merged) == len(protocol.metrics) + 2


def test_unknown_protocol_teaches():
    with pytest.raises(ConfigError, match="unknown protocol 'vqrf'; did you mean 'vqfr'"):
        load_protocol("vqrf")


def test_run_config_expands_a_protocol(tmp_path):
    path = tmp_path / "run.yaml"
    config = {
        "name": "p",
        "protocol": "vqfr",
        "datasets": [{"name": "d", "path": str(tmp_path / "faces")}],
        "restorers": ["identity"],
        "metrics": [{"name": "fid", "params": {"reference": "/x/stats.npz"}}, "kid"],
        "output": str(tmp_path / "out"),
    }
    path.write_text(yaml.safe_dump(config))
    loaded = load_run_config(path)
    assert [m.column for m in loaded.metrics][:3] == ["psnr.vqfr", "ssim.vqfr", "lpips.vgg"]
    assert [m.column for m in loaded.metrics][-1] == "kid"
    fid = next(m for m in loaded.metrics if m.column == "fid")
    assert fid.params == {"mode": "legacy", "reference": "/x/stats.npz"}
    path.write_text(yaml.safe_dump(config | {"protocol": "nope"}))
    with pytest.raises(ConfigError, match="unknown protocol 'nope'"):
        load_run_config(path)


def test_metric_labels_are_unique_and_safe(tmp_path):
    path = tmp_path / "run.yaml"
    base = {
        "name": "p",
        "datasets": [{"name": "d", "path": str(tmp_path)}],
        "restorers": ["identity"],
        "output": str(tmp_path / "out"),
    }
    path.write_text(yaml.safe_dump(base | {"metrics": ["fid", "fid"]}))
    with pytest.raises(ConfigError, match="metric label 'fid' appears twice"):
        load_run_config(path)
    path.write_text(yaml.safe_dump(base | {"metrics": [{"name": "fid", "label": "a/b"}]}))
    with pytest.raises(ConfigError, match="cannot be used as a name"):
        load_run_config(path)


def test_the_ntire2025_preset_is_the_challenges_eval():
    protocol = load_protocol("ntire2025")
    assert protocol.score is not None and protocol.gate is not None
    terms = {term.metric: term for term in protocol.score.terms}
    assert terms["fid"].value(30.0) == pytest.approx(0.7) and terms["fid"].value(130.0) == 0
    assert terms["pyiqa.niqe"].value(4.0) == pytest.approx(0.6)
    assert terms["pyiqa.musiq"].value(70.0) == pytest.approx(0.7)
    assert terms["pyiqa.qalign"].value(4.0) == pytest.approx(0.8)
    assert terms["pyiqa.clipiqa"].value(0.6) == 0.6
    assert protocol.gate.thresholds["Wider-Test"] == 0.3
    assert sum(protocol.score.test_sets.values()) == 450


def test_protocols_command_lists_and_shows(capsys):
    assert main(["protocols"]) == 0
    out = capsys.readouterr().out
    assert "vqfr" in out and "codeformer" in out and "ntire2025" in out
    assert main(["protocols", "vqfr", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)[0]
    assert shown["name"] == "vqfr" and "calculate_cos_dist.py" in shown["follows"]
    assert main(["protocols", "nope"]) == 2
