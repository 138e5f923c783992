"""``dr2bench restore``: run one restorer over a folder of images and write PNG outputs.

Example::

    dr2bench restore --restorer nlmeans --set h=7 --input ../shared/data/real/wider --output out/

Outputs keep the inputs' relative paths, with the suffix ``.png``. Beside them go
``restore.json`` (the restorer, its version and parameters, the seed, and every failed image
with the reason) and ``restore.log`` (whatever the restorer logged: an external command's
output). Images that cannot be read or restored are failures; the others are still written.
The exit status is 0 when every image was restored, 1 otherwise.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.config import ConfigError
from bench.files import atomic_write_json, atomic_write_text
from bench.images import ImageError, list_images, read_image, write_png
from bench.registry import RESTORERS

SHOWN_FAILURES = 10
RANGE_TOLERANCE = 1e-3  # as the runner: outputs may overshoot [0, 1] this much (then clipped)


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


@dataclass
class _Pending:
    ids: list[str]
    images: list[Any]


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {args.batch_size}")
    params_type = RESTORERS.get(args.restorer).Params
    restorer = RESTORERS.create(args.restorer, **parse_settings(args.set, params_type))
    sources = _inputs(args.input, args.output)
    try:
        restorer.load(args.device)
    except (ValueError, RuntimeError, OSError) as exc:  # bad parameters or weights: the user's
        raise ConfigError(f"{args.restorer} could not be loaded: {exc}") from exc
    start = time.perf_counter()
    failures: dict[str, str] = {}
    log: list[str] = []
    limit = len(sources) if restorer.whole_set else args.batch_size
    for batch in _batches(sources, limit, failures):
        failures |= _restore(restorer, batch, args)
        log.extend(restorer.take_log())
    seconds = time.perf_counter() - start
    _write_report(args, restorer, sources, failures, log)
    _print_summary(args, len(sources), failures, seconds)
    return 1 if failures else 0


def _inputs(input_dir: Path, output_dir: Path) -> dict[str, Path]:
    """Image ids (relative POSIX paths) to files; checks the folders and the output names."""
    if not input_dir.is_dir():
        raise FileNotFoundError(f"--input {input_dir}: not a folder")
    if output_dir.resolve() == input_dir.resolve():
        raise ConfigError(f"--output {output_dir}: must not be the input folder")
    sources = {path.relative_to(input_dir).as_posix(): path for path in list_images(input_dir)}
    if not sources:
        raise FileNotFoundError(f"--input {input_dir}: no images found")
    outputs: dict[str, str] = {}
    for image_id in sources:
        name = _output_name(image_id)
        if name in outputs:
            raise ConfigError(
                f"--input {input_dir}: '{outputs[name]}' and '{image_id}' would both be written "
                f"as {name}"
            )
        outputs[name] = image_id
    return sources


def _output_name(image_id: str) -> str:
    return Path(image_id).with_suffix(".png").as_posix()


def _batches(sources: dict[str, Path], limit: int, failures: dict[str, str]) -> Iterator[_Pending]:
    """Consecutive images of one size, at most ``limit`` at a time; unreadable ones fail."""
    pending = _Pending([], [])
    for image_id, path in sources.items():
        try:
            image = read_image(path)
        except ImageError as exc:
            failures[image_id] = str(exc)
            continue
        if pending.ids and (len(pending.ids) >= limit or image.shape != pending.images[0].shape):
            yield pending
            pending = _Pending([], [])
        pending.ids.append(image_id)
        pending.images.append(image)
    if pending.ids:
        yield pending


def _restore(restorer: Any, batch: _Pending, args: argparse.Namespace) -> dict[str, str]:
    """Restore one batch and write its outputs; the failures, by id.

    When the whole batch fails and it holds several images, each is retried alone, so one bad
    image does not take the others with it.
    """
    from bench.contracts import RestoreFailures
    from bench.images import to_numpy, to_tensor
    from bench.seeding import image_seed

    dataset = args.dataset or args.input.resolve().name
    seeds = [image_seed(args.seed, dataset, image_id) for image_id in batch.ids]
    failed: dict[int, str] = {}
    try:
        output = restorer.restore_batch(to_tensor(batch.images, args.device), seeds, batch.ids)
    except RestoreFailures as exc:
        output, failed = exc.output, exc.failures
    except Exception as exc:
        if len(batch.ids) == 1:
            return {batch.ids[0]: f"{type(exc).__name__}: {exc}"}
        failures: dict[str, str] = {}
        for image_id, image in zip(batch.ids, batch.images, strict=True):
            failures |= _restore(restorer, _Pending([image_id], [image]), args)
        return failures
    shape = tuple(getattr(output, "shape", ()))
    if len(shape) != 4 or shape[:2] != (len(batch.ids), 3):
        return dict.fromkeys(batch.ids, f"restorer returned shape {shape}, expected N x 3 x H x W")
    failures = {batch.ids[index]: reason for index, reason in failed.items()}
    for index, (image_id, image) in enumerate(zip(batch.ids, to_numpy(output), strict=True)):
        if index in failed:
            continue
        problem = _check(image)
        if problem:
            failures[image_id] = problem
        else:
            write_png(args.output / _output_name(image_id), image)
    return failures


def _check(image: Any) -> str | None:
    """Why a restored image cannot be written, or ``None``; slight overshoot is clipped later.

    Its size may differ from the input's (``identity`` with ``size`` set upsamples).
    """
    import numpy as np

    if not np.isfinite(image).all():
        return "restorer output contains NaN or Inf"
    low, high = float(image.min()), float(image.max())
    if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        return f"restorer output range [{low:.3g}, {high:.3g}] is outside [0, 1]"
    return None


def _write_report(
    args: argparse.Namespace,
    restorer: Any,
    sources: dict[str, Path],
    failures: dict[str, str],
    log: list[str],
) -> None:
    atomic_write_json(
        args.output / "restore.json",
        {
            "restorer": restorer.name,
            "version": restorer.version,
            "params": restorer.config(),
            "input": str(args.input),
            "seed": args.seed,
            "device": args.device,
            "images": len(sources),
            "restored": len(sources) - len(failures),
            "failures": dict(sorted(failures.items())),
        },
    )
    atomic_write_text(args.output / "restore.log", "".join(line + "\n" for line in log))


def _print_summary(
    args: argparse.Namespace, total: int, failures: dict[str, str], seconds: float
) -> None:
    print(
        f"{args.restorer}: restored {total - len(failures)} of {total} images in {seconds:.1f} s"
        f" -> {args.output}"
    )
    for image_id, reason in sorted(failures.items())[:SHOWN_FAILURES]:
        print(f"  failed {image_id}: {reason}")
    if len(failures) > SHOWN_FAILURES:
        more = len(failures) - SHOWN_FAILURES
        print(f"  ... and {more} more (see {args.output / 'restore.json'})")
