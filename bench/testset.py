"""Build a synthetic paired test set from a folder of clean faces, or replay one from its params.

The output folder is a paired dataset (:class:`bench.datasets.PairedFolderDataset`)::

    OUT/lq/<id>          degraded images (lossless PNG)
    OUT/gt/<id>          the clean images, as PNG
    OUT/params.jsonl     one record per image: id, chain, chain_version, severity, seed,
                         dataset, steps (every step's name, version and sampled params)
    OUT/manifest.json    tool version, the arguments that define the content, content hashes

``<id>`` is the input's relative path with a ``.png`` suffix. Every image is degraded with its
own generator (:func:`bench.seeding.image_rng` of seed, dataset, id, chain, severity), so
the folder is byte-identical whatever the number of worker processes, and the manifest holds
nothing that varies between runs (no time, no output path, no worker count).
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bench import __version__
from bench.chains import Chain, load_chain
from bench.datasets import DatasetError, FolderDataset, read_params, write_params
from bench.files import atomic_write_bytes, atomic_write_json, sha256_bytes, sha256_file
from bench.images import encode_png, read_image
from bench.parallel import worker_pool
from bench.seeding import image_rng


@dataclass(frozen=True)
class Job:
    """One image to degrade: where it is, its id, and its params record when replaying."""

    source: Path
    id: str
    chain: str
    severity: int
    seed: int
    dataset: str
    output: Path
    recorded: dict[str, Any] | None = None


@dataclass(frozen=True)
class Result:
    """What one job wrote: its params record and the sha256 of its two files."""

    record: dict[str, Any]
    lq_sha256: str
    gt_sha256: str
    size: str


def output_ids(input_dir: Path) -> dict[str, Path]:
    """Map each output id (relative path, ``.png`` suffix) to its input image.

    Raises:
        DatasetError: the folder has no images, or two inputs map to the same id.
    """
    ids: dict[str, Path] = {}
    for item in FolderDataset(path=input_dir).items():
        target = Path(item.id).with_suffix(".png").as_posix()
        if target in ids:
            raise DatasetError(
                f"{input_dir}: '{ids[target].relative_to(input_dir).as_posix()}' and "
                f"'{item.id}' would both be written as '{target}'"
            )
        assert item.gt is not None  # a paired FolderDataset: every item is a clean (GT) image
        ids[target] = Path(item.gt)
    if not ids:
        raise DatasetError(f"{input_dir}: no images found")
    return ids


@cache
def _chain(name: str) -> Chain:
    return load_chain(name)


def run_job(job: Job) -> Result:
    """Degrade one image, write its LQ and GT PNGs atomically, return its record and hashes."""
    chain = _chain(job.chain)
    image = read_image(job.source)
    record: dict[str, Any]
    if job.recorded is None:
        rng = image_rng(job.seed, job.dataset, job.id, chain.name, job.severity)
        record = {
            "id": job.id,
            "chain": chain.name,
            "chain_version": chain.version,
            "severity": job.severity,
            "seed": job.seed,
            "dataset": job.dataset,
            "steps": chain.sample(rng, job.severity),
        }
    else:
        record = job.recorded
    try:
        degraded = chain.apply(image, record["steps"])
    except ValueError as exc:
        raise DatasetError(f"{job.source}: {exc}") from exc
    lq_bytes, gt_bytes = encode_png(degraded), encode_png(image)
    atomic_write_bytes(job.output / "lq" / job.id, lq_bytes)
    atomic_write_bytes(job.output / "gt" / job.id, gt_bytes)
    size = f"{image.shape[1]}x{image.shape[0]}"
    return Result(record, sha256_bytes(lq_bytes), sha256_bytes(gt_bytes), size)


def run_jobs(jobs: list[Job], workers: int) -> list[Result]:
    """Run ``jobs`` in this process (``workers`` 1) or in a pool of fresh processes."""
    if workers < 1:
        raise DatasetError(f"workers must be at least 1, got {workers}")
    if workers == 1 or len(jobs) < 2:
        return [run_job(job) for job in jobs]
    with worker_pool(workers, _chain, (jobs[0].chain,)) as pool:  # each worker loads the chain
        return list(pool.map(run_job, jobs, chunksize=max(1, len(jobs) // (8 * workers))))


OWN_FILES = frozenset({"lq", "gt", "params.jsonl", "manifest.json"})  # what a build writes


def prepare_output(output: Path, overwrite: bool) -> None:
    """Make sure ``output`` is empty; with ``overwrite``, clear a previous output there.

    Raises:
        DatasetError: the folder holds files and is not a previous output (or no overwrite).
    """
    if not output.exists():
        output.mkdir(parents=True)
        return
    if not output.is_dir():
        raise DatasetError(f"{output}: exists and is not a folder")
    names = {path.name for path in output.iterdir()}
    if not names:
        return
    if not names <= OWN_FILES:
        raise DatasetError(
            f"{output}: not empty and not a `dr2bench degrade` output (it holds "
            f"{', '.join(sorted(names - OWN_FILES)[:3])}); refusing to delete anything there"
        )
    if not overwrite:
        state = "an earlier" if "manifest.json" in names else "an interrupted"
        raise DatasetError(
            f"{output}: holds {state} `dr2bench degrade` output (pass --overwrite to replace it)"
        )
    for name in ("lq", "gt"):
        shutil.rmtree(output / name, ignore_errors=True)
    for name in ("params.jsonl", "manifest.json"):
        (output / name).unlink(missing_ok=True)


def write_outputs(
    output: Path,
    chain: Chain,
    results: list[Result],
    sources: dict[str, Path],
    arguments: dict[str, Any],
) -> dict[str, Any]:
    """Write ``params.jsonl`` and ``manifest.json``; return the manifest."""
    import cv2
    import numpy as np

    write_params(output / "params.jsonl", [result.record for result in results])
    ordered = sorted(results, key=lambda result: result.record["id"])
    files = {"params.jsonl": sha256_file(output / "params.jsonl")}
    for result in ordered:
        files[f"lq/{result.record['id']}"] = result.lq_sha256
        files[f"gt/{result.record['id']}"] = result.gt_sha256
    sizes = Counter(result.size for result in results)
    manifest = {
        "tool": "dr2bench",
        "version": __version__,
        "command": "degrade",
        "arguments": arguments,
        "chain": {
            "name": chain.name,
            "version": chain.version,
            "definition_sha256": chain.definition_hash(),
            "degradations": {step["name"]: step["version"] for step in ordered[0].record["steps"]},
        },
        "packages": {"numpy": np.__version__, "opencv": cv2.__version__},
        "images": len(results),
        "sizes": dict(sorted(sizes.items())),
        "inputs": {key: sha256_file(path) for key, path in sorted(sources.items())},
        "files": files,
    }
    atomic_write_json(output / "manifest.json", manifest)
    return manifest


def build_test_set(
    input_dir: Path,
    output: Path,
    chain: str,
    severity: int,
    seed: int,
    dataset: str | None = None,
    workers: int = 1,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Degrade every image of ``input_dir`` with ``chain`` at ``severity``; return the manifest.

    Args:
        input_dir: A folder of clean faces (searched recursively).
        output: The folder to write (must be empty, or a previous output with ``overwrite``).
        chain: A built-in chain name or a chain YAML file.
        severity: 1..5 on a ladder chain, 0 for a chain of published ranges.
        seed: The run seed (a non-negative integer).
        dataset: The dataset name in every image's seed; defaults to the input folder's name.
        workers: Worker processes; the output does not depend on it.
        overwrite: Replace a previous output in ``output``.

    Example:
        >>> build_test_set(Path("../shared/data/hq"), Path("out"), "gfpgan", 0, 0)  # doctest: +SKIP
    """
    input_dir, output = Path(input_dir), Path(output)
    loaded = load_chain(chain)
    loaded.check_severity(severity)
    sources = output_ids(input_dir)
    dataset = dataset or input_dir.resolve().name
    prepare_output(output, overwrite)
    jobs = [
        Job(path, image_id, str(chain), severity, seed, dataset, output)
        for image_id, path in sources.items()
    ]
    results = run_jobs(jobs, workers)
    arguments = {
        "input": str(input_dir),
        "chain": str(chain),
        "severity": severity,
        "seed": seed,
        "dataset": dataset,
    }
    return write_outputs(output, loaded, results, sources, arguments)


def replay_test_set(
    params_path: Path,
    output: Path,
    input_dir: Path | None = None,
    chain: str | None = None,
    workers: int = 1,
    overwrite: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """Rebuild a test set from its ``params.jsonl``; return the manifest and mismatched ids.

    Args:
        params_path: The recorded ``params.jsonl``.
        output: The folder to write (must be empty, or a previous output with ``overwrite``).
        input_dir: The clean images; defaults to the ``gt/`` folder beside ``params_path``.
        chain: A chain YAML file, for chains that are not built in.
        workers: Worker processes.
        overwrite: Replace a previous output in ``output``.

    The mismatched ids are those whose rebuilt LQ differs from the hash in the original
    ``manifest.json`` beside ``params_path`` (empty when there is none).
    """
    params_path, output = Path(params_path), Path(output)
    records = read_params(params_path)
    if not records:
        raise DatasetError(f"{params_path}: no records")
    input_dir = Path(input_dir) if input_dir else params_path.parent / "gt"
    sources = output_ids(input_dir)
    chain_ref = _replay_chain(params_path, records, chain)
    jobs = [
        _replay_job(params_path, record, sources, chain_ref, output) for record in records.values()
    ]
    prepare_output(output, overwrite)
    results = run_jobs(jobs, workers)
    arguments = {"replay": str(params_path), "input": str(input_dir)}
    used = {job.id: job.source for job in jobs}
    manifest = write_outputs(output, _chain(chain_ref), results, used, arguments)
    return manifest, _mismatches(params_path.parent / "manifest.json", manifest)


def _replay_chain(params_path: Path, records: dict[str, dict], chain: str | None) -> str:
    names = {(record["chain"], record["chain_version"]) for record in records.values()}
    if len(names) != 1:
        raise DatasetError(f"{params_path}: records mix chains {sorted(names)}")
    ((name, version),) = names
    reference = chain or name
    loaded = load_chain(reference)
    if loaded.name != name or loaded.version != version:
        raise DatasetError(
            f"{params_path}: recorded with chain '{name}' v{version}; "
            f"'{reference}' is '{loaded.name}' v{loaded.version}"
        )
    return reference


def _replay_job(
    params_path: Path, record: dict, sources: dict[str, Path], chain: str, output: Path
) -> Job:
    where = f"{params_path}: id '{record['id']}'"
    if record["id"] not in sources:
        raise DatasetError(f"{where}: no clean image with that id")
    try:
        _chain(chain).check_records(record["steps"])
    except ValueError as exc:
        raise DatasetError(f"{where}: {exc}") from exc
    return Job(
        sources[record["id"]],
        record["id"],
        chain,
        record["severity"],
        record["seed"],
        str(record.get("dataset", "")),
        output,
        recorded=record,
    )


def _mismatches(original_manifest: Path, manifest: dict[str, Any]) -> list[str]:
    import json

    if not original_manifest.is_file():
        return []
    recorded = json.loads(original_manifest.read_text(encoding="utf-8")).get("files", {})
    return sorted(
        key.removeprefix("lq/")
        for key, digest in manifest["files"].items()
        if key.startswith("lq/") and recorded.get(key) != digest
    )
