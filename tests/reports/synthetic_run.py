"""A synthetic run folder in the format of docs/run-format.md, for the report tests and benchmark.

Values are drawn with a known structure: each restorer has a quality offset, every severity step
makes every metric worse, and the DR2 grid trades fidelity (PSNR) for quality (FID, NIQE) as N and
tau grow. Some rows fail, real images have no paired metrics, and some file names hold ``<script>``
and ``&``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from bench.run.folder import RunFolder

SYNTHETIC_IDS = ("000.png", "001.png", "002.png", "sub/003.jpg", "face_<script>&4.png", "005.png")
REAL_IDS = ("a.png", "b<script>&c.jpg", "c.png", "d.png")
CHAINS = ("classic", "blur")
SEVERITIES = (1, 2, 3, 4, 5)
SEEDS = (0, 1)
# label -> (plugin name, params, quality offset, fidelity offset)
RESTORERS = {
    "identity": ("identity", {}, -3.0, -1.0),
    "gfpgan": ("gfpgan", {}, 0.0, 0.4),
    "codeformer.w05": ("codeformer.w05", {"w": 0.5}, 0.6, 0.2),
}
for _n in (4, 8):
    for _tau in (20, 35):
        RESTORERS[f"dr2[N={_n},tau={_tau}]"] = (
            "dr2",
            {"N": _n, "tau": _tau},
            0.2 + 0.1 * _n + 0.02 * _tau,
            0.9 - 0.08 * _n - 0.02 * _tau,
        )
METRICS = {
    "psnr": ("paired", True),
    "ssim": ("paired", True),
    "lpips": ("paired", False),
    "ids.sface": ("paired", True),
    "deg.vqfr": ("paired", False),
    "lmd.fan": ("paired", False),
    "niqe": ("no_reference", False),
    "fid": ("set", False),
    "kid": ("set", False),
}
PAIRED = [name for name, (kind, _) in METRICS.items() if kind == "paired"]
FAILED = {
    ("celeba-test", "classic", 5, 0, "gfpgan", "002.png"),
    ("wider", "none", 0, 0, "dr2[N=8,tau=35]", "b<script>&c.jpg"),
}
SIDE = 48


def write_synthetic_run(
    folder: Path, *, images: bool = True, synthetic_ids: tuple[str, ...] = SYNTHETIC_IDS
) -> Path:
    """Write ``records.parquet``, ``sets.parquet``, ``manifest.json`` (and images) in ``folder``."""
    rng = np.random.default_rng(7)
    rows = _records(rng, synthetic_ids)
    records = pd.DataFrame(rows).sort_values(
        ["dataset", "chain", "severity", "seed", "restorer", "image_id"], ignore_index=True
    )
    folder.mkdir(parents=True, exist_ok=True)
    records.to_parquet(folder / "records.parquet", index=False)
    pd.DataFrame(_sets(records, rng)).to_parquet(folder / "sets.parquet", index=False)
    (folder / "manifest.json").write_text(json.dumps(_manifest(records), indent=2))
    if images:
        _write_images(folder, records)
    return folder


def _cells(synthetic_ids: tuple[str, ...]):
    for chain in CHAINS:
        for severity in SEVERITIES:
            yield "celeba-test", "synthetic", chain, severity, synthetic_ids
    yield "wider", "real", "none", 0, REAL_IDS


def _records(rng: np.random.Generator, synthetic_ids: tuple[str, ...]) -> list[dict]:
    rows = []
    image_effect = {image_id: rng.normal(0, 1.0) for image_id in synthetic_ids + REAL_IDS}
    for dataset, kind, chain, severity, ids in _cells(synthetic_ids):
        for seed in SEEDS:
            for label, (name, params, quality, fidelity) in RESTORERS.items():
                for image_id in ids:
                    key = (dataset, chain, severity, seed, label, image_id)
                    row = {
                        "dataset": dataset,
                        "dataset_kind": kind,
                        "image_id": image_id,
                        "chain": chain,
                        "severity": severity,
                        "seed": seed,
                        "degradation_params": "[]" if chain == "none" else '[{"sigma": 1.0}]',
                        "restorer": label,
                        "restorer_name": name,
                        "restorer_version": 1,
                        "restorer_params": json.dumps(params, sort_keys=True),
                        "status": "ok",
                        "error": None,
                    }
                    values = _values(rng, severity, quality, fidelity, image_effect[image_id])
                    errors = {}
                    if key in FAILED:
                        row["status"] = "failed"
                        row["error"] = f"restorer {name}: out of memory on {image_id}"
                        values = dict.fromkeys(values, float("nan"))
                    elif kind == "real":
                        for metric in PAIRED:
                            values[metric] = float("nan")
                            errors[metric] = "no ground truth"
                    row.update(values)
                    row["metric_errors"] = json.dumps(errors, sort_keys=True)
                    rows.append(row)
    return rows


def _values(
    rng: np.random.Generator, severity: int, quality: float, fidelity: float, effect: float
) -> dict[str, float]:
    noise = rng.normal(0, 1.0, size=7)
    return {
        "psnr": 28 + 2 * fidelity - 1.2 * severity + effect + 0.5 * noise[0],
        "ssim": float(np.clip(0.8 + fidelity / 20 - 0.04 * severity + 0.02 * noise[1], 0, 1)),
        "lpips": 0.2 - quality / 30 + 0.04 * severity + 0.02 * noise[2],
        "ids.sface": 0.8 + fidelity / 10 - 0.06 * severity + 0.03 * noise[3],
        "deg.vqfr": 30 - 3 * fidelity + 5 * severity + 2 * noise[4],
        "lmd.fan": 2 - 0.2 * fidelity + 0.5 * severity + 0.2 * noise[5],
        "niqe": 6 - 0.5 * quality + 0.4 * severity + 0.3 * noise[6],
    }


def _sets(records: pd.DataFrame, rng: np.random.Generator) -> list[dict]:
    rows = []
    keys = ["dataset", "dataset_kind", "chain", "severity", "seed", "restorer"]
    for values, group in records.groupby(keys, sort=True):
        cell = dict(zip(keys, values, strict=True))
        quality = RESTORERS[cell["restorer"]][2]
        n = int((group["status"] == "ok").sum())
        fid = 40 + 8 * cell["severity"] - 5 * quality + rng.normal(0, 1.0)
        config = {"mode": "clean", "reference": "ffhq<&>", "n": n}
        for metric, value in (("fid", fid), ("kid", fid / 1000)):
            failed = cell["dataset"] == "wider" and cell["restorer"] == "identity" and cell["seed"]
            rows.append(
                {
                    **cell,
                    "metric": metric,
                    "value": float("nan") if failed else float(value),
                    "n": n,
                    "reference": "ffhq<&>",
                    "config": json.dumps(config),
                    "extra": json.dumps({"std": 0.001} if metric == "kid" else {}),
                    "status": "failed" if failed else "ok",
                    "error": f"{metric}: reference statistics missing" if failed else None,
                }
            )
    return rows


def _manifest(records: pd.DataFrame) -> dict:
    failed = int((records["status"] == "failed").sum())
    return {
        "name": "fixture <script>alert(1)</script>",
        "config": {"name": "fixture", "datasets": [{"name": "celeba-test", "path": "a&b<c>"}]},
        "dr2bench_version": "0.1.0",
        "git_commit": "0123456789abcdef",
        "started": "2026-01-01T00:00:00",
        "finished": "2026-01-01T00:10:00",
        "packages": {"numpy": np.__version__, "pandas": pd.__version__},
        "hardware": {"cpu": "test"},
        "metrics": {
            name: {"kind": kind, "higher_is_better": higher, "version": 1, "config": {}}
            for name, (kind, higher) in METRICS.items()
        },
        "restorers": {
            label: {"name": name, "version": 1, "params": params}
            for label, (name, params, _, _) in RESTORERS.items()
        },
        "failures": {"count": failed, "by_status": {"failed": failed}},
        "skipped": {"count": 1, "files": {"hq": ["notes.txt: not an image file"]}},
    }


def _image(seed: int, noise: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray((rng.random((6, 6, 3)) * 255).astype(np.uint8))
    smooth = np.asarray(coarse.resize((SIDE, SIDE), Image.Resampling.BICUBIC), dtype=np.float64)
    return np.clip(smooth + rng.normal(0, noise, smooth.shape), 0, 255).astype(np.uint8)


def _save(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _write_images(folder: Path, records: pd.DataFrame) -> None:
    ids = sorted(set(records["image_id"]))
    pictures: dict[Path, tuple[int, float]] = {}
    run = RunFolder(folder)
    for row in records.itertuples(index=False):
        base = ids.index(row.image_id)
        cell = (row.dataset, row.chain, row.severity, row.seed, row.image_id)
        if row.dataset_kind == "synthetic":
            pictures[run.gt(row.dataset, row.image_id)] = (base, 0.0)
        pictures[run.lq(*cell)] = (base, 10.0 + 8 * row.severity)
        if row.status == "ok":
            pictures[run.output(row.restorer, *cell)] = (base, 4.0)
    for path, (base, noise) in pictures.items():
        _save(path, _image(base, noise))


def only_cells(run: Any, *cells: tuple[str, int]) -> Any:
    """A loaded run (``Results``) cut down to some (chain, severity) cells, so that its paired
    comparisons take seconds, not minutes."""

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        pairs = list(zip(frame["chain"], frame["severity"], strict=True))
        return frame[[pair in cells for pair in pairs]]

    return dataclasses.replace(run, records=keep(run.records), sets=keep(run.sets))
