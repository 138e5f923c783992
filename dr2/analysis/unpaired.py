"""Signal energy between two sets of *different* faces (degraded ones without their clean ones).

For real low-quality faces there is no clean version of each face, only a reference set of clean
faces, so the paired ``||Phi_N(x - y)||^2 / d`` of :mod:`dr2.analysis.distances` is replaced by a
distribution-level one, after Phi_N and per value:

    s = ||E[a] - E[b]||^2 / d  +  sum over channels and integer frequency rings of
        ring size x |P_a(ring) - P_b(ring)| / d

where ``P`` is the mean power ``|FFT|^2 / S^2`` of the faces minus their set's mean face. It
equals the paired value in expectation for additive independent noise (the power difference is
the noise's power) and for a constant shift (the mean difference). For blur it counts the lost
power ``(1 - |K|^2) P`` where the paired value counts ``|1 - K|^2 P``.

Both terms are estimated without the bias finite sets give: the squared mean difference minus
the variance of each set's mean, and each ring's power difference counted only where it exceeds
two standard errors (a smaller one is indistinguishable from sampling noise and counts as none).
Two halves of one set then give about 0, which
:func:`dr2.analysis.suggest.suggest_for_folders` prints as a check.

Example:
    >>> import torch
    >>> faces = torch.zeros(4, 3, 32, 32)
    >>> unpaired_signal(set_statistics(faces, 1), set_statistics(faces + 0.5, 1))
    0.25
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

CHUNK = 16
STANDARD_ERRORS = 2.0


@dataclass(frozen=True)
class SetStatistics:
    """Mean face and centred ring power of one set after Phi_N, with their uncertainties.

    Attributes:
        factor: The low-pass factor N.
        count: Faces.
        mean: Mean low-passed face ``(C, S, S)``.
        mean_variance: Variance of ``mean`` per value, summed over values, over d.
        power: Unbiased mean centred power per channel and ring ``(C, R)``.
        power_error: Its standard error ``(C, R)``.
        sizes: Frequencies per ring ``(R,)``.
    """

    factor: int
    count: int
    mean: torch.Tensor
    mean_variance: float
    power: torch.Tensor
    power_error: torch.Tensor
    sizes: torch.Tensor


def read_faces(folder: Path, size: int, limit: int | None) -> torch.Tensor:
    """The faces of ``folder`` as ``(n, 3, size, size)`` float32 in [-1, 1]."""
    import torch

    from dr2.analysis.inputs import face_paths, read_face, to_model

    paths = face_paths(folder, limit)
    if len(paths) < 4:
        raise ValueError(f"{folder}: {len(paths)} images; at least 4 are needed")
    return torch.stack([to_model(read_face(path), size).float() for _, path in paths])


def set_statistics(faces: torch.Tensor, factor: int) -> SetStatistics:
    """Statistics of ``(n, C, S, S)`` faces in [-1, 1] after Phi_N (``factor``)."""
    import torch

    from dr2.analysis.distances import band
    from dr2.analysis.features import ring_power

    n = len(faces)
    if n < 2:
        raise ValueError("set statistics need at least two faces")
    operator = band(faces.shape[-1], factor)
    low = torch.cat([operator(faces[i : i + CHUNK].double()) for i in range(0, n, CHUNK)])
    mean = low.mean(0)
    deviations = low - mean
    mean_variance = float(deviations.pow(2).mean(dim=(1, 2, 3)).sum()) / (n * (n - 1))
    chunks = [ring_power(deviations[i : i + CHUNK]) for i in range(0, n, CHUNK)]
    per_face = torch.cat([power for power, _ in chunks]) * (n / (n - 1))
    sizes = chunks[0][1]
    return SetStatistics(
        factor=factor,
        count=n,
        mean=mean,
        mean_variance=mean_variance,
        power=per_face.mean(0),
        power_error=per_face.std(0) / n**0.5,
        sizes=sizes,
    )


def unpaired_signal(first: SetStatistics, second: SetStatistics) -> float:
    """Unpaired signal energy per value between two sets (see the module docstring)."""
    import torch

    channels, size = first.mean.shape[0], first.mean.shape[-1]
    shift = float((first.mean - second.mean).pow(2).mean())
    shift -= first.mean_variance + second.mean_variance
    error = (first.power_error**2 + second.power_error**2).sqrt()
    difference = (first.power - second.power).abs()
    difference = torch.where(difference > STANDARD_ERRORS * error, difference, 0.0)
    spread = float((difference * first.sizes).sum()) / (channels * size**2)
    return max(shift, 0.0) + spread
