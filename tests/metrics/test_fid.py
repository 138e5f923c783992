"""FID and KID against independent float64 computations; reference statistics and caching."""

from __future__ import annotations

import warnings
import zipfile

import numpy as np
import pytest
import torch

from metrics.fid import FewImagesWarning, Fid, Kid, frechet_distance
from metrics.reference import (
    ReferenceSetError,
    ReferenceStats,
    folder_features,
    load_stats_file,
    reference_from,
)


def independent_frechet(x: np.ndarray, y: np.ndarray) -> float:
    """FID by eigen-decompositions: tr sqrt(S1 S2) = sum sqrt(eig(S1^1/2 S2 S1^1/2))."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = np.linalg.eigvalsh(root @ s2 @ root)
    trace_sqrt = np.sqrt(np.clip(middle, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)


def independent_kid(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, written out term by term."""
    d, m = x.shape[1], len(x)

    def k(a, b):
        return (a @ b / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return float(xx + yy - 2 * xy)


@pytest.fixture
def features(rng):
    x = rng.normal(size=(300, 32))
    y = rng.normal(loc=0.3, scale=1.2, size=(250, 32)) + rng.normal(size=(1, 32))
    return x, y


def test_frechet_distance_matches_independent_computation(features):
    x, y = features
    stats = [ReferenceStats.from_features(f) for f in (x, y)]
    ours = frechet_distance(stats[0].mu, stats[0].sigma, stats[1].mu, stats[1].sigma)
    assert ours == pytest.approx(independent_frechet(x, y), rel=1e-9)
    assert frechet_distance(stats[0].mu, stats[0].sigma, stats[0].mu, stats[0].sigma) == (
        pytest.approx(0.0, abs=1e-8)
    )


def test_frechet_distance_of_known_gaussians():
    # N(0, I) vs N(m, 4I) in d dims: |m|^2 + d (1 + 4 - 2 * 2) = |m|^2 + d
    d = 5
    mean = np.arange(d, dtype=float)
    value = frechet_distance(np.zeros(d), np.eye(d), mean, 4 * np.eye(d))
    assert value == pytest.approx(mean @ mean + d, rel=1e-12)


def test_fid_value_uses_features_or_statistics_and_warns_below_2048(features):
    x, y = features
    metric = Fid()
    with pytest.warns(FewImagesWarning, match="300 images"):
        from_features = metric.value(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_stats = metric.value(x, ReferenceStats.from_features(y, "y.npz"))
    assert from_features.value == pytest.approx(independent_frechet(x, y), rel=1e-9)
    assert from_stats.value == pytest.approx(from_features.value, rel=1e-12)
    assert from_features.n == 300 and from_features.extra["n_reference"] == 250
    assert "2048" in from_features.extra["warning"]


def test_kid_matches_independent_unbiased_mmd(rng):
    x, y = rng.normal(size=(12, 8)), rng.normal(loc=0.5, size=(12, 8))
    result = Kid(subsets=3, subset_size=100).value(x, y)  # every subset is the whole set
    assert result.value == pytest.approx(independent_kid(x, y), rel=1e-10)
    assert result.extra["subset_size"] == 12 and result.extra["std"] == pytest.approx(0, abs=1e-12)
    assert result.n == 12


def test_kid_subsets_are_seeded_and_near_zero_for_one_distribution(rng):
    x, y = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    first = Kid(subsets=20, subset_size=100, seed=3).value(x, y)
    again = Kid(subsets=20, subset_size=100, seed=3).value(x, y)
    assert first.value == again.value
    assert abs(first.value) < 3 * first.extra["std"] + 1e-3
    shifted = Kid(subsets=20, subset_size=100).value(x, y + 1.0)
    assert shifted.value > 10 * abs(first.value)


def test_kid_needs_reference_features(features):
    x, y = features
    stats = ReferenceStats(y.mean(0), np.cov(y, rowvar=False), None, None, "stats.npz")
    with pytest.raises(ReferenceSetError, match=r"stats\.npz holds only mean and covariance"):
        Kid().value(x, stats)


def test_npz_statistics_as_pytorch_fid_writes(tmp_path, features):
    _, y = features
    path = tmp_path / "ref.npz"
    np.savez(path, mu=y.mean(0), sigma=np.cov(y, rowvar=False))
    stats = load_stats_file(path)
    np.testing.assert_array_equal(stats.mu, y.mean(0))
    assert stats.n is None and stats.features is None and stats.source == str(path)


def _rename_numpy_module(path, new_path):
    """Rewrite a torch checkpoint as numpy 1 pickled it (``numpy.core.multiarray``)."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(new_path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith("data.pkl"):
                data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
            target.writestr(item, data)


def test_pth_statistics_as_basicsr_writes_them(tmp_path, features):
    _, y = features
    path = tmp_path / "inception_FFHQ_512.pth"
    torch.save(
        {"name": "FFHQ", "size": 512, "mean": y.mean(0), "cov": np.cov(y, rowvar=False)}, path
    )
    legacy = tmp_path / "legacy.pth"
    _rename_numpy_module(path, legacy)
    for stats_path in (path, legacy):
        stats = load_stats_file(stats_path)
        np.testing.assert_allclose(stats.sigma, np.cov(y, rowvar=False))


def test_statistics_files_that_run_code_or_lack_keys_are_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    evil = tmp_path / "evil.pth"
    torch.save({"mean": Payload()}, evil)
    with pytest.raises(ReferenceSetError, match=r"evil\.pth.*no code is run"):
        load_stats_file(evil)
    keys = tmp_path / "keys.npz"
    np.savez(keys, mean_vector=np.zeros(3))
    with pytest.raises(ReferenceSetError, match=r"keys\.npz: expected keys mu/sigma"):
        load_stats_file(keys)
    shape = tmp_path / "shape.npz"
    np.savez(shape, mu=np.zeros(3), sigma=np.eye(4))
    with pytest.raises(ReferenceSetError, match=r"shape\.npz: mean has 3 values"):
        load_stats_file(shape)
    with pytest.raises(ReferenceSetError, match="a folder of images or a statistics file"):
        reference_from(tmp_path / "nothing.txt", lambda b: b, {})


def test_folder_features_are_cached_by_content_and_identity(isolated_home, tmp_path):
    from bench.images import write_png
    from tests.metrics.conftest import pattern

    folder = tmp_path / "ref"
    for i in range(3):
        write_png(folder / f"{i}.png", pattern(40, shift=10 * i))
    calls = []

    def extract(images):
        calls.append(len(images))
        return images.mean(dim=(2, 3)).double().numpy()

    first, content = folder_features(folder, extract, {"mode": "legacy"})
    again, same_content = folder_features(folder, extract, {"mode": "legacy"})
    assert calls == [3] and np.array_equal(first, again) and content == same_content
    cached = list((isolated_home / "cache" / "features").glob("*.npz"))
    assert len(cached) == 1
    folder_features(folder, extract, {"mode": "clean"})
    assert calls == [3, 3]
    write_png(folder / "1.png", pattern(40, shift=99))  # same names, new content
    _, new_content = folder_features(folder, extract, {"mode": "legacy"})
    assert calls == [3, 3, 3] and new_content != content


def test_reference_from_the_weights_folder(isolated_home, tmp_path):
    import torch

    from bench.weights import MissingWeightsError
    from metrics.reference import reference_from

    source = "weights:inception_ffhq512_stats"
    with pytest.raises(MissingWeightsError, match=r"inception_FFHQ_512\.pth"):
        reference_from(source, lambda images: None, {})
    rng = np.random.default_rng(0)
    features = rng.normal(size=(20, 4))
    stats = {"mean": features.mean(0), "cov": np.cov(features, rowvar=False)}  # basicsr's layout
    path = isolated_home / "weights" / "inception_FFHQ_512.pth"
    path.parent.mkdir(parents=True)
    torch.save(stats, path)
    loaded = reference_from(source, lambda images: None, {})
    np.testing.assert_allclose(loaded.mu, stats["mean"])
    assert loaded.source == str(path) and len(loaded.fingerprint) == 64
