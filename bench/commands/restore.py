"""``dr2bench restore``: run one restorer over a folder of images and write PNG outputs.

Example::

    dr2bench restore --restorer nlmeans --set h=7 --input ../shared/data/real/wider --output out/

A thin front door over a one-cell run (:class:`bench.run.runner.Runner`): the folder is an
unpaired dataset named after it (``--dataset``), so the outputs are the bytes ``dr2bench run``
writes for the same images, restorer and seed, with the same checks, per-image seeds, isolation
(``--timeout``) and failure records; the run folder, ``OUTPUT/.run``, makes a second call
resume. Outputs keep the inputs' relative paths, with the suffix ``.png``. Beside them go
``restore.json`` (the restorer, its version and parameters, the seed, and every failed image
with the reason) and ``restore.log`` (the run's log, with whatever the restorer logged: an
external command's output). The exit status is 0 when every image was restored, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import Any

from bench.config import ConfigError
from bench.files import atomic_write_json
from bench.registry import RESTORERS

SHOWN_FAILURES = 10
RUN_FOLDER = ".run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--restorer", required=True, help="registered name, e.g. nlmeans")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a restorer parameter (the value is read as YAML: 3, 0.5, true, [1, 2]); repeatable",
    )
    parser.add_argument("--input", required=True, type=Path, help="folder of images (recursive)")
    parser.add_argument("--output", required=True, type=Path, help="folder for the PNG outputs")
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument(
        "--dataset",
        help="the dataset name the per-image seeds are derived with (default: the input folder's "
        "name), as in a run whose dataset has this name: same seed, same bytes",
    )
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--batch-size", type=int, default=8, help="images per call (default 8)")
    parser.add_argument(
        "--timeout", type=float, help="seconds a batch may take; a hang fails only its images"
    )


def parse_settings(settings: list[str], params_type: type | None = None) -> dict[str, Any]:
    """``["h=7", "mode=per_folder"]`` to ``{"h": 7, "mode": "per_folder"}``.

    Values are read as YAML (``3``, ``0.5``, ``true``, ``null``, ``{A: '1'}``), except for the
    fields of ``params_type`` typed as text (``str``, ``Path``), which take the value verbatim
    (``null`` aside, where ``None`` is allowed), so a command line with braces stays a string.

    Example:
        >>> parse_settings(["h=7", "env={CUDA_VISIBLE_DEVICES: '1'}", "size=null"])
        {'h': 7, 'env': {'CUDA_VISIBLE_DEVICES': '1'}, 'size': None}
    """
    import yaml

    text_fields = _text_fields(params_type)
    params: dict[str, Any] = {}
    for setting in settings:
        key, equals, text = setting.partition("=")
        key = key.strip()
        if not equals or not key:
            raise ConfigError(f"--set {setting!r}: expected KEY=VALUE")
        if key in params:
            raise ConfigError(f"--set {key}: given twice")
        if key in text_fields:
            params[key] = None if text == "null" and text_fields[key] else text
            continue
        try:
            params[key] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {key}: the value {text!r} is not valid YAML ({exc})") from exc
    return params


def _text_fields(params_type: type | None) -> dict[str, bool]:
    """Fields typed ``str`` or ``Path`` (or ``| None``): name -> whether ``None`` is allowed."""
    import dataclasses
    import types
    import typing

    if params_type is None or not dataclasses.is_dataclass(params_type):
        return {}
    fields: dict[str, bool] = {}
    for name, hint in typing.get_type_hints(params_type).items():
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        kinds = [option for option in options if option is not type(None)]
        if len(kinds) == 1 and kinds[0] in (str, Path):
            fields[name] = len(options) > len(kinds)
    return fields


def main(args: argparse.Namespace) -> int:
    from bench.run.config import run_config
    from bench.run.executors import make_executor
    from bench.run.runner import Runner
    from bench.run.stages import PluginRef

    params = parse_settings(args.set, RESTORERS.get(args.restorer).Params)
    sources = _inputs(args.input, args.output)
    dataset = args.dataset or args.input.resolve().name
    config = run_config(
        {
            "name": "restore",
            "seed": args.seed,
            "datasets": [{"name": dataset, "path": str(args.input), "paired": False}],
            "restorers": [{"name": args.restorer, "params": params, "label": "restored"}],
            "output": str(args.output / RUN_FOLDER),
            "device": args.device,
            "batch_size": args.batch_size,
            "keep_images": "outputs",
            "timeout_s": args.timeout,
        },
        "--restorer/--set",
    )
    point = config_point(config)
    try:  # load once here: a bad parameter or weights file is the user's, said in one line
        PluginRef("restorer", point.name, point.params_json).load(args.device)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ConfigError(f"{args.restorer} could not be loaded: {exc}") from exc
    executor = make_executor("local", timeout_s=config.timeout_s)
    try:
        summary = Runner(config, executor, progress=False).run(resume=True)
    finally:
        executor.close()
    failures = _export(summary.run_dir, dataset, args.seed, args.output)
    _write_report(args, point, sources, failures, summary.run_dir)
    _print_summary(args, len(sources), failures)
    return 1 if failures else 0


def config_point(config: Any) -> Any:
    """The one grid point of a restore's config."""
    from bench.run.config import grid_points

    (point,) = grid_points(config)
    return point


def _inputs(input_dir: Path, output_dir: Path) -> list[str]:
    """The input folder's image ids, as the run's dataset sees them (a name that cannot be an
    id fails its image, with the reason, in the run)."""
    from bench.datasets import FolderDataset

    if not input_dir.is_dir():
        raise FileNotFoundError(f"--input {input_dir}: not a folder")
    if output_dir.resolve() == input_dir.resolve():
        raise ConfigError(f"--output {output_dir}: must not be the input folder")
    ids = [item.id for item in FolderDataset(path=input_dir, paired=False).items()]
    if not ids:
        raise FileNotFoundError(f"--input {input_dir}: no images found")
    return ids


def _output_name(image_id: str) -> str:
    return Path(image_id).with_suffix(".png").as_posix()


def _export(run_dir: Path, dataset: str, seed: int, output: Path) -> dict[str, str]:
    """Link each restored image to ``output/<id>.png``; the failures, by id, with the reason."""
    import pandas as pd

    from bench.run.folder import RunFolder

    folder = RunFolder(run_dir)
    records = pd.read_parquet(folder.table_path("records"))
    errors = dict(zip(records["image_id"], records["error"], strict=True))
    failures = {}
    for image_id, status in zip(records["image_id"], records["status"], strict=True):
        if status != "ok":
            failures[image_id] = str(errors[image_id]).removeprefix("input: ")
            continue
        restored = folder.output("restored", dataset, "none", 0, seed, image_id)
        target = output / _output_name(image_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            os.link(restored, target)  # the same bytes, stored once
        except OSError:
            shutil.copyfile(restored, target)
    return failures


def _write_report(
    args: argparse.Namespace,
    point: Any,
    sources: list[str],
    failures: dict[str, str],
    run_dir: Path,
) -> None:
    atomic_write_json(
        args.output / "restore.json",
        {
            "restorer": args.restorer,
            "version": point.version,
            "params": point.config,
            "input": str(args.input),
            "seed": args.seed,
            "device": args.device,
            "images": len(sources),
            "restored": len(sources) - len(failures),
            "failures": dict(sorted(failures.items())),
        },
    )
    shutil.copyfile(run_dir / "run.log", args.output / "restore.log")


def _print_summary(args: argparse.Namespace, total: int, failures: dict[str, str]) -> None:
    print(f"{args.restorer}: restored {total - len(failures)} of {total} images -> {args.output}")
    for image_id, reason in sorted(failures.items())[:SHOWN_FAILURES]:
        print(f"  failed {image_id}: {reason}")
    if len(failures) > SHOWN_FAILURES:
        more = len(failures) - SHOWN_FAILURES
        print(f"  ... and {more} more (see {args.output / 'restore.json'})")
