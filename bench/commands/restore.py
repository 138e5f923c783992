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
    add_settings(
        parser, "a restorer parameter (the value is read as YAML: 3, 0.5, true, [1, 2]); repeatable"
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


def add_settings(parser: argparse.ArgumentParser, help: str) -> None:
    """The repeatable option ``--set KEY=VALUE``, read by :func:`parse_settings`."""
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=help)


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
    from bench.run.config import grid_points, run_config
    from bench.run.executors import make_executor
    from bench.run.runner import Runner
    from bench.run.stages import PluginRef

    params = parse_settings(args.set, RESTORERS.get(args.restorer).Params)
    _check_folders(args.input, args.output)
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
    (point,) = grid_points(config)
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
    _report(args, point, summary, failures)
    return 1 if failures else 0


def _check_folders(input_dir: Path, output_dir: Path) -> None:
    """Raise unless ``input_dir`` is a folder with images and ``output_dir`` is another one (an
    image whose name cannot be an id fails, with the reason, in the run)."""
    from bench.images import list_images

    if not input_dir.is_dir():
        raise FileNotFoundError(f"--input {input_dir}: not a folder")
    if output_dir.resolve() == input_dir.resolve():
        raise ConfigError(f"--output {output_dir}: must not be the input folder")
    if not list_images(input_dir):
        raise FileNotFoundError(f"--input {input_dir}: no images found")


def _export(run_dir: Path, dataset: str, seed: int, output: Path) -> dict[str, str]:
    """Link each restored image to ``output/<id>.png``; the failures, by id, with the reason."""
    import pandas as pd

    from bench.run.folder import RunFolder

    folder = RunFolder(run_dir)
    records = pd.read_parquet(folder.table_path("records"))
    failures = {}
    for image_id, status, error in records[["image_id", "status", "error"]].itertuples(index=False):
        if status != "ok":
            failures[image_id] = str(error).removeprefix("input: ")
            continue
        restored = folder.output("restored", dataset, "none", 0, seed, image_id)
        target = output / Path(image_id).with_suffix(".png").as_posix()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            os.link(restored, target)  # the same bytes, stored once
        except OSError:
            shutil.copyfile(restored, target)
    return failures


def _report(args: argparse.Namespace, point: Any, summary: Any, failures: dict[str, str]) -> None:
    """Write ``restore.json`` and ``restore.log`` beside the outputs, and print the summary."""
    total = summary.rows
    atomic_write_json(
        args.output / "restore.json",
        {
            "restorer": args.restorer,
            "version": point.version,
            "params": point.config,
            "input": str(args.input),
            "seed": args.seed,
            "device": args.device,
            "images": total,
            "restored": total - len(failures),
            "failures": dict(sorted(failures.items())),
        },
    )
    shutil.copyfile(summary.run_dir / "run.log", args.output / "restore.log")
    print(f"{args.restorer}: restored {total - len(failures)} of {total} images -> {args.output}")
    for image_id, reason in sorted(failures.items())[:SHOWN_FAILURES]:
        print(f"  failed {image_id}: {reason}")
    if len(failures) > SHOWN_FAILURES:
        more = len(failures) - SHOWN_FAILURES
        print(f"  ... and {more} more (see {args.output / 'restore.json'})")
