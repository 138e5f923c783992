"""Choosing (N, tau, omega): hand-checked rule, folders, and the command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.cli import main
from bench.images import write_png
from dr2.analysis.distances import noise_energy
from dr2.analysis.experiment import schedule
from dr2.analysis.suggest import choose, suggest_for_folders
from dr2.sampler import default_omega

ALPHAS = schedule(100)


def smallest_step(signal: float, noise: float, threshold: float = 0.05) -> int | None:
    """Written out: the first t with a s / (2 (1 - a) nu) <= threshold."""
    for t, a in enumerate(ALPHAS):
        if a * signal / (2 * (1 - a) * noise) <= threshold:
            return t
    return None


def test_choice_follows_the_stated_rule():
    signals = {1: 0.02, 2: 0.01, 4: 0.002, 8: 0.001}
    choice = choose(signals, ALPHAS, size=256)
    taus = {n: smallest_step(s, noise_energy(256, n)) for n, s in signals.items()}
    scores = {n: ALPHAS[taus[n]] / n**2 for n in (2, 4, 8)}
    best = max(scores, key=scores.get)
    assert (choice.N, choice.tau) == (best, taus[best])
    assert choice.full_band_t == taus[1]
    assert choice.omega == max(taus[1], taus[best])
    assert choice.default_omega == default_omega(taus[best], best, 100)
    assert [c.tau for c in choice.candidates] == [taus[n] for n in (1, 2, 4, 8)]
    assert any(f"N = {best}, tau = {taus[best]}" in line for line in choice.reasoning)


def test_heavier_damage_needs_a_later_tau():
    light = choose({1: 0.01, 4: 0.001}, ALPHAS, size=256)
    heavy = choose({1: 0.1, 4: 0.01}, ALPHAS, size=256)
    assert heavy.tau > light.tau
    assert heavy.omega >= heavy.tau


def test_nothing_invariant_within_the_steps():
    choice = choose({1: 1e9, 4: 1e9, 8: 1e9}, ALPHAS, size=256)
    assert (choice.N, choice.tau, choice.omega, choice.full_band_t) == (8, 99, 99, None)
    assert any("No low-pass band" in line for line in choice.reasoning)


def test_choose_needs_the_full_band():
    with pytest.raises(ValueError, match="full band"):
        choose({4: 0.1}, ALPHAS, size=256)


@pytest.fixture
def folders(tmp_path):
    """Clean faces, and two degraded copies of other faces: mildly and strongly noisy."""
    rng = np.random.default_rng(0)
    base = rng.random((8, 8, 3))
    paths = {name: tmp_path / name for name in ("clean", "mild", "strong")}
    for i in range(16):
        face = np.kron(base + 0.1 * rng.random((8, 8, 3)), np.ones((8, 8, 1))).astype(np.float32)
        if i % 2 == 0:
            write_png(paths["clean"] / f"{i}.png", face)
            continue
        for name, sigma in (("mild", 0.02), ("strong", 0.2)):
            noisy = np.clip(face + sigma * rng.standard_normal(face.shape), 0, 1)
            write_png(paths[name] / f"{i}.png", noisy.astype(np.float32))
    return paths


def test_folders_stronger_noise_later_omega(folders):
    mild = suggest_for_folders(folders["mild"], folders["clean"], (2, 4), size=64)
    strong = suggest_for_folders(folders["strong"], folders["clean"], (2, 4), size=64)
    assert (mild.lq_count, mild.reference_count) == (8, 8)
    assert strong.suggestion.full_band_t > mild.suggestion.full_band_t
    assert strong.suggestion.omega >= mild.suggestion.omega
    assert set(mild.floor) == {1, 2, 4}
    assert "Null check" in mild.suggestion.reasoning[-1]


def test_suggest_command_prints_and_writes(folders, tmp_path, capsys):
    output = tmp_path / "suggestion.json"
    code = main(
        [
            "analyze",
            "suggest",
            "--input",
            str(folders["strong"]),
            "--reference",
            str(folders["clean"]),
            "--size",
            "64",
            "--lowpass",
            "2",
            "4",
            "--output",
            str(output),
        ]
    )
    printed = capsys.readouterr().out
    saved = json.loads(output.read_text())["suggestion"]
    assert code == 0
    assert f"suggested: N={saved['N']} tau={saved['tau']} omega={saved['omega']}" in printed
    assert [c["N"] for c in saved["candidates"]] == [1, 2, 4]


def test_suggest_command_names_a_missing_folder(tmp_path, capsys):
    code = main(
        ["analyze", "suggest", "--input", str(tmp_path / "nowhere"), "--reference", str(tmp_path)]
    )
    assert code == 2
    assert "nowhere" in capsys.readouterr().err
