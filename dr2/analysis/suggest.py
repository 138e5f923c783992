"""Choose DR2's (N, tau, omega) from invariance measurements, and say why.

Inputs are signal energies ``s_N`` (:mod:`dr2.analysis.distances`) of a degradation, per band: 1
for the full band and every candidate low-pass factor N. With the threshold eps:

- ``tau(N)``: the smallest respaced step where ``r_N(t) = a s_N / (2 (1 - a) nu_N) <= eps``.
  From there on, Phi_N of the diffused degraded input is as good as Phi_N of the diffused clean
  face, which is what DR2's low-pass guidance assumes (its first premise).
- ``omega``: the smallest step where the *full band* is indistinguishable (``r_1 <= eps``): DR2
  starts from the diffused input itself there (its second premise). ``omega >= tau``.
- ``N``: the candidate with the largest ``alpha_bar(tau(N)) / N^2``, the share of the input's
  signal left at tau times the share of its pixels the guidance carries: a larger N reaches
  invariance sooner but keeps fewer of the input's pixels; this is a heuristic, stated as such.

For a set of degraded faces without their clean versions (real LQ images),
:class:`SetSpectrum` gives an unpaired ``s_N``: the squared difference of the two sets' mean
images plus the summed absolute difference of their mean centred power spectra per integer
frequency ring, after Phi_N, per value. It equals the paired ``s_N`` in expectation for additive
independent noise and exactly for a constant shift; for blur it counts the lost power
``(1 - |K|^2) P`` where the paired value counts ``|1 - K|^2 P``.

Example:
    >>> from dr2.analysis.experiment import schedule
    >>> choice = choose({1: 0.02, 4: 0.002, 8: 0.001}, schedule(100), size=256)
    >>> choice.N, choice.tau, choice.omega, choice.full_band_t
    (4, 22, 22, 13)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from dr2.analysis.distances import DEFAULT_THRESHOLD, first_below, noise_energy, signal_ratio


@dataclass(frozen=True)
class Candidate:
    """One low-pass factor: its signal energy, tau, alpha_bar at tau and score."""

    N: int
    signal: float
    noise: float
    tau: int | None
    alpha_bar: float | None
    score: float | None


@dataclass(frozen=True)
class Suggestion:
    """The recommended (N, tau, omega), the alternatives and the reasoning."""

    N: int
    tau: int
    omega: int
    default_omega: int
    full_band_t: int | None
    threshold: float
    respacing: int
    candidates: tuple[Candidate, ...]
    reasoning: tuple[str, ...] = field(default=())


def choose(
    signals: dict[int, float],
    alphas_cumprod: np.ndarray,
    size: int,
    threshold: float = DEFAULT_THRESHOLD,
) -> Suggestion:
    """(N, tau, omega) from signal energies per band (``signals[1]`` is the full band)."""
    from dr2.sampler import default_omega

    if 1 not in signals or len(signals) < 2:
        raise ValueError("choose needs the full band (N = 1) and at least one low-pass factor")
    k = len(alphas_cumprod)
    candidates = tuple(
        _candidate(n, signals[n], alphas_cumprod, size, threshold) for n in sorted(signals) if n > 1
    )
    full = _candidate(1, signals[1], alphas_cumprod, size, threshold)
    scored = [c for c in candidates if c.score is not None]
    if scored:
        best = max(scored, key=lambda c: (c.score, -c.N))
        tau = int(best.tau)  # type: ignore[arg-type]
    else:
        best = candidates[-1]
        tau = k - 1
    omega = max(full.tau if full.tau is not None else k - 1, tau)
    suggestion = Suggestion(
        N=best.N,
        tau=tau,
        omega=omega,
        default_omega=default_omega(tau, best.N, k),
        full_band_t=full.tau,
        threshold=threshold,
        respacing=k,
        candidates=(full, *candidates),
    )
    return replace(suggestion, reasoning=reasoning(suggestion, bool(scored)))


def _candidate(
    n: int, signal: float, alphas_cumprod: np.ndarray, size: int, threshold: float
) -> Candidate:
    noise = noise_energy(size, n)
    tau = first_below(signal_ratio(np.array([signal]), noise, alphas_cumprod)[0], threshold)
    alpha = None if tau is None else float(alphas_cumprod[tau])
    score = None if alpha is None or n == 1 else alpha / n**2
    return Candidate(n, float(signal), noise, tau, alpha, score)


def reasoning(suggestion: Suggestion, any_invariant: bool) -> tuple[str, ...]:
    """The lines printed with a suggestion."""
    s = suggestion
    lines = [
        f"Per band: signal energy s (per value, [-1, 1] units), band noise energy nu, and the "
        f"smallest respaced step t (of K = {s.respacing}) with a s / (2 (1 - a) nu) <= "
        f"{s.threshold:g}:",
        f"  {'band':>6} {'s':>10} {'nu':>7} {'t':>5} {'alpha_bar':>10} {'a/N^2':>8}",
    ]
    for c in s.candidates:
        t = "-" if c.tau is None else str(c.tau)
        alpha = "-" if c.alpha_bar is None else f"{c.alpha_bar:.4f}"
        score = "-" if c.score is None else f"{c.score:.5f}"
        band = "full" if c.N == 1 else f"N={c.N}"
        lines.append(f"  {band:>6} {c.signal:10.3g} {c.noise:7.4f} {t:>5} {alpha:>10} {score:>8}")
    if any_invariant:
        lines.append(
            f"N = {s.N}, tau = {s.tau}: the largest alpha_bar(tau) / N^2, the share of the "
            "input's signal left at tau times the share of its pixels the guidance keeps."
        )
    else:
        lines.append(
            f"No low-pass band becomes indistinguishable within K steps: N = {s.N} (the largest "
            f"candidate) and tau = {s.tau}, the last step; expect little fidelity to the input."
        )
    if s.full_band_t is None:
        lines.append(f"omega = {s.omega}: the full band never becomes indistinguishable.")
    else:
        lines.append(
            f"omega = {s.omega}: the full band is indistinguishable from t = {s.full_band_t} "
            "on, so the diffused input can stand in for the clean face there (omega >= tau)."
        )
    lines.append(f"DR2's fixed rule would start at omega = {s.default_omega} for this N and tau.")
    return tuple(lines)


@dataclass(frozen=True)
class FolderSuggestion:
    """A suggestion for a folder of degraded faces, with the sampling floor of the reference.

    Attributes:
        suggestion: The recommended (N, tau, omega) and its reasoning.
        floor: Unpaired signal energy per band between two halves of the reference set: what
            finite samples of different faces give alone; signals near it are not resolved.
        lq_count: Degraded faces used.
        reference_count: Reference faces used.
    """

    suggestion: Suggestion
    floor: dict[int, float]
    lq_count: int
    reference_count: int


def suggest_for_folders(
    lq: Path,
    reference: Path,
    lowpass: tuple[int, ...] = (2, 4, 8, 16),
    size: int = 256,
    respacing: int = 100,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int | None = None,
) -> FolderSuggestion:
    """(N, tau, omega) for the faces in ``lq`` against clean faces in ``reference`` (unpaired)."""
    from dr2.analysis.experiment import schedule
    from dr2.analysis.unpaired import read_faces, set_statistics, unpaired_signal

    bands = (1, *(n for n in lowpass if n != 1))
    degraded, clean = read_faces(lq, size, limit), read_faces(reference, size, limit)
    signals, floor = {}, {}
    for n in bands:
        signals[n] = unpaired_signal(set_statistics(degraded, n), set_statistics(clean, n))
        floor[n] = unpaired_signal(set_statistics(clean[0::2], n), set_statistics(clean[1::2], n))
    suggestion = choose(signals, schedule(respacing), size, threshold)
    floor_line = (
        "Null check, two halves of the reference (near 0 when the estimate is unbiased): "
        + ", ".join(f"{'full' if n == 1 else f'N={n}'} {value:.3g}" for n, value in floor.items())
    )
    suggestion = replace(suggestion, reasoning=(*suggestion.reasoning, floor_line))
    return FolderSuggestion(suggestion, floor, len(degraded), len(clean))
