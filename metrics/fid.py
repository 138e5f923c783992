"""FID and KID from pool3 features of the FID Inception network (:mod:`metrics.inception`).

FID is the Frechet distance between Gaussians fitted to the two feature sets, in float64, with
the matrix square root handled as pytorch-fid does: if ``sqrtm`` is not finite, ``1e-6`` is added
to both diagonals; an imaginary part is dropped when the diagonal's imaginary part is within
``1e-3`` of zero, and is an error otherwise. FID from fewer than 2,048 images is biased upward
(the covariance is rank-deficient): it warns and records the warning; report KID beside it.

KID is the unbiased MMD^2 with the cubic polynomial kernel ``k(x, y) = (x.y / d + 1)^3``,
averaged over random subsets (100 subsets of 1,000 by default, as clean-fid and torch-fidelity;
smaller sets use every image), seeded so that it is reproducible. Its value is not scaled (papers
often print KID x 10^3).

Example:
    >>> fid = Fid(mode="legacy", reference="inception_FFHQ_512.pth")  # doctest: +SKIP
    >>> fid.load("cuda")  # doctest: +SKIP
    >>> fid.value(fid.features(batch), fid.configured_reference())  # doctest: +SKIP
    SetValue(value=41.2, n=..., extra={...})
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from bench.contracts import SetMetric, SetValue
from bench.files import cached_sha256
from metrics import inception
from metrics.common import cached_network, quantize_tensor
from metrics.reference import ReferenceSetError, ReferenceStats, reference_from

if TYPE_CHECKING:
    import torch

RELIABLE_N = 2048
SQRTM_EPS = 1e-6
IMAGINARY_ATOL = 1e-3
RESIZE = {
    "legacy": "torch bilinear, align_corners=False, no antialias, on [0, 1] floats (pytorch-fid)",
    "clean": "PIL bicubic per channel on float32 [0, 255], clipped (clean-fid)",
}
SCALING = {"legacy": "2x - 1 (pytorch-fid)", "clean": "(x - 128) / 128 (TF / clean-fid)"}


class FewImagesWarning(UserWarning):
    """A set-level metric was computed from too few images to be reliable."""


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """``|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 sqrt(sigma1 sigma2))``, float64, as pytorch-fid."""
    from scipy import linalg

    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"feature sizes differ: {mu1.shape} vs {mu2.shape}")
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(mu1)) * SQRTM_EPS
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imaginary = np.abs(np.diagonal(covmean).imag).max()
        if imaginary > IMAGINARY_ATOL:
            raise ValueError(f"sqrtm has an imaginary component of {imaginary:.3g} on its diagonal")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def kernel_inception_distance(
    x: np.ndarray, y: np.ndarray, subsets: int, subset_size: int, seed: int
) -> tuple[float, float, int]:
    """Mean and standard deviation of the unbiased MMD^2 over subsets, and the subset size."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature sizes differ: {x.shape[1]} vs {y.shape[1]}")
    size = min(subset_size, len(x), len(y))
    if size < 2:
        raise ValueError(f"KID needs at least 2 images in each set, got {len(x)} and {len(y)}")
    rng = np.random.default_rng(seed)
    dims = x.shape[1]
    values = []
    for _ in range(subsets):
        a = x[rng.choice(len(x), size, replace=False)]
        b = y[rng.choice(len(y), size, replace=False)]
        k_aa, k_bb = (a @ a.T / dims + 1.0) ** 3, (b @ b.T / dims + 1.0) ** 3
        k_ab = (a @ b.T / dims + 1.0) ** 3
        within = (k_aa.sum() - np.trace(k_aa) + k_bb.sum() - np.trace(k_bb)) / (size * (size - 1))
        values.append(within - 2.0 * k_ab.mean())
    return float(np.mean(values)), float(np.std(values)), size


@dataclass(frozen=True)
class InceptionParams:
    """Attributes:
    mode: ``legacy`` (pytorch-fid / basicsr resize, the numbers of most face-restoration papers)
        or ``clean`` (clean-fid's PIL bicubic resize).
    reference: A folder of reference images or a statistics file (``.npz`` mu/sigma,
        ``.pth`` mean/cov); ``None`` compares with the ground truth of the dataset.
    weights: ``auto`` (pytorch-fid's file when present, else fid-helper's TorchScript),
        ``fid_helper`` or ``pytorch_fid``. Both hold the same network.
    """

    mode: Literal["legacy", "clean"] = "legacy"
    reference: str | None = None
    weights: Literal["auto", "fid_helper", "pytorch_fid"] = "auto"


class _InceptionMetric(SetMetric):
    """Shared by FID and KID: the network, the features and the reference set."""

    higher_is_better = False
    tags = {"legacy": {"mode": "legacy"}, "clean": {"mode": "clean"}}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.device = "cpu"
        self.network: Any = None

    def extractor(self) -> dict[str, Any]:
        """What identifies the feature extractor: weights file, its sha256 and the mapping."""
        source, path = inception.resolve_weights(self.params.weights)
        return {
            "network": "Inception-v3 2015-12-05 (TF port), pool3, 2048 features",
            "weights_source": source,
            "weights_file": path.name,
            "weights_sha256": cached_sha256(path),
            "mapping_version": inception.MAPPING_VERSION,
        }

    def config(self) -> dict[str, Any]:
        mode = self.params.mode
        return super().config() | {
            "quantize": "uint8",
            "resize": RESIZE[mode],
            "input_size": inception.INPUT_SIZE,
            "input_scaling": SCALING[mode],
            "extractor": self.extractor(),
        }

    def load(self, device: str = "cpu") -> None:
        source, path = inception.resolve_weights(self.params.weights)

        def build() -> Any:
            import torch

            network = inception.build_network(inception.weights_state(source, path))
            return network.to(device, memory_format=torch.channels_last)  # ~20% faster on CPU

        self.device = device
        self.network = cached_network(("inception", str(path), device), build)

    def features(self, images: torch.Tensor) -> np.ndarray:
        import torch

        if self.network is None:
            self.load(self.device)
        batch = quantize_tensor(images.to(self.device))
        with torch.inference_mode():
            inputs = inception.preprocess(batch, self.params.mode)
            pooled = self.network(inputs.contiguous(memory_format=torch.channels_last))[0]
        return pooled.reshape(len(images), -1).double().cpu().numpy()

    def configured_reference(self) -> ReferenceStats | None:
        """The reference set from the ``reference`` parameter (features cached), or ``None``."""
        if self.params.reference is None:
            return None
        identity = {"metric": "inception_pool3", "mode": self.params.mode} | self.extractor()
        return reference_from(self.params.reference, self.features, identity)


class Fid(_InceptionMetric):
    """FID on Inception pool3 features; ``legacy`` (default) or ``clean`` resize."""

    version = 1
    description = "FID, Inception pool3 (TF port); legacy bilinear (default) or .clean PIL bicubic"
    Params = InceptionParams

    def value(self, features: np.ndarray, reference: np.ndarray | ReferenceStats) -> SetValue:
        if not isinstance(reference, ReferenceStats):  # features: summarised
            reference = ReferenceStats.from_features(np.asarray(reference), "reference features")
        own = ReferenceStats.from_features(features, "outputs")
        extra: dict[str, Any] = {"n_reference": reference.n, "reference": reference.source}
        if own.n is not None and own.n < RELIABLE_N:
            extra["warning"] = (
                f"FID from {own.n} images (< {RELIABLE_N}) is biased upward and unreliable; "
                "compare KID instead"
            )
            warnings.warn(extra["warning"], FewImagesWarning, stacklevel=2)
        distance = frechet_distance(own.mu, own.sigma, reference.mu, reference.sigma)
        return SetValue(distance, int(own.n or 0), extra)


@dataclass(frozen=True)
class KidParams(InceptionParams):
    """Attributes (besides FID's):
    subsets: Number of random subsets averaged.
    subset_size: Images per subset (capped by the smaller set).
    seed: Seed of the subset draws.
    """

    subsets: int = 100
    subset_size: int = 1000
    seed: int = 0


class Kid(_InceptionMetric):
    """KID: unbiased MMD^2, cubic polynomial kernel, on Inception pool3 features."""

    version = 1
    description = "KID (unbiased MMD^2, cubic kernel, subsets) on the same features as FID"
    Params = KidParams

    def value(self, features: np.ndarray, reference: np.ndarray | ReferenceStats) -> SetValue:
        if isinstance(reference, ReferenceStats):
            if reference.features is None:
                raise ReferenceSetError(
                    f"KID needs the reference images' features; {reference.source} holds only "
                    "mean and covariance: give a folder of reference images instead"
                )
            reference = reference.features
        p = self.params
        mean, std, size = kernel_inception_distance(
            features, reference, p.subsets, p.subset_size, p.seed
        )
        extra = {"std": std, "subset_size": size, "n_reference": len(reference)}
        return SetValue(mean, len(features), extra)
