"""``dr2bench score --pred DIR [--gt DIR] [--input DIR] [--ref DIR_OR_STATS] --metrics a,b``.

``--protocol NAME`` scores with a published protocol's metrics and parameters (``dr2bench
protocols``); ``--metrics`` then adds metrics to it.

Prints a summary table and, with ``--json FILE``, writes the report and a per-image CSV beside it
(``FILE`` with the suffix ``.csv``)::

    {"metrics": {"psnr": {"mean": .., "std": .., "ci_low": .., "ci_high": .., "n": ..,
                          "failed": .., "higher_is_better": true, "kind": "paired",
                          "version": 1, "config": {..}},
                 "fid": {"value": .., "n": .., "extra": {..}, "config": {..}, ...},
                 "lpips": {"unavailable": "missing weights ...", ...}},
     "per_image": [{"id": "x.png", "psnr": .., "errors": {"ids.dlib": "no face found ..."}}, ...],
     "unmatched": {"pred_without_gt": [..], "gt_without_pred": [..]}, "folders": {..}}

``std`` is the sample standard deviation (``ddof=1``) and ``ci_low``/``ci_high`` the 95%
percentile bootstrap interval of the mean, as in ``dr2bench report``; the printed ``±`` is half
its width, the one meaning of ``±`` in dr2bench (:data:`reports.stats.PLUS_MINUS`). Failed images
(NaN, with the reason in ``errors``) are left out of ``mean`` and counted in ``failed``. A
metric whose published mean leaves values out (VQFR's Deg.: pairs under 1 degree; its config's
``mean_leaves_out_below``) reports that mean, ``left_out`` (how many were left out) and
``mean_all`` (the mean over all).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

DEFAULT_METRICS = "psnr,ssim,lpips,st_lpips,fid,kid,ids.dlib,deg.dlib,lmd.dlib,niqe"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pred", type=Path, required=True, help="folder of restored images")
    parser.add_argument("--gt", type=Path, help="folder of ground-truth images")
    parser.add_argument("--input", type=Path, help="folder of the degraded inputs (ids_input)")
    parser.add_argument(
        "--ref", type=Path, help="FID/KID reference: a folder or a .npz/.pth statistics file"
    )
    parser.add_argument(
        "--metrics",
        help="comma-separated metric names, tags allowed (psnr.y, fid.clean) "
        f"[{DEFAULT_METRICS}, or the protocol's]",
    )
    parser.add_argument(
        "--protocol", help="a published protocol's metrics (`dr2bench protocols` lists them)"
    )
    parser.add_argument("--json", type=Path, help="write the report here (and a .csv beside it)")
    parser.add_argument("--device", default="cpu", help="torch device for deep metrics [cpu]")
    parser.add_argument("--batch-size", type=int, default=16, help="images per batch [16]")


def metric_entries(metrics: str | None, protocol: str | None) -> list[dict[str, Any]]:
    """The metric entries to score with: ``--metrics`` names, after ``--protocol``'s."""
    from bench.config import ConfigError
    from bench.protocols import expand, load_protocol

    if metrics is None and protocol is None:
        metrics = DEFAULT_METRICS
    names = [name.strip() for name in (metrics or "").split(",") if name.strip()]
    if metrics is not None and not names:
        raise ConfigError("--metrics is empty")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"--metrics names '{repeated[0]}' more than once")
    own = [{"name": name} for name in names]
    return expand(load_protocol(protocol), own) if protocol else own


def metric_summary(scores: Any) -> dict[str, Any]:
    """The report entry of one metric."""
    import numpy as np

    from reports.stats import bootstrap_ci

    metric = scores.metric
    entry: dict[str, Any] = {
        "kind": metric.kind,
        "version": int(metric.version),
        "higher_is_better": bool(metric.higher_is_better),
        "config": metric.config(),
    }
    if scores.unavailable:
        return entry | {"unavailable": scores.unavailable}
    if metric.kind == "set":
        return entry | dict(scores.set_result or {})
    values = [v for v in scores.values.values() if not math.isnan(v)]
    below = entry["config"].get("mean_leaves_out_below")
    kept = values if below is None else [v for v in values if v >= below]
    interval = bootstrap_ci(np.asarray(kept, dtype=np.float64))
    result = entry | {
        "mean": _mean(kept),
        "std": _std(kept),
        "ci_low": None if interval.n < 2 else interval.low,
        "ci_high": None if interval.n < 2 else interval.high,
        "n": len(kept),
        "failed": len(scores.errors),
    }
    if below is not None:
        result |= {"left_out": len(values) - len(kept), "mean_all": _mean(values)}
    return result


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _std(values: list[float]) -> float | None:
    if len(values) < 2 or any(math.isinf(v) for v in values):
        return None
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def per_image(pairing: Any, scorings: list[Any]) -> list[dict[str, Any]]:
    """One row per output image: its id, every per-image metric and the reasons of failures."""
    rows = []
    for image_id in sorted(pairing.pred):
        row: dict[str, Any] = {"id": image_id}
        errors = {}
        for scores in scorings:
            if scores.unavailable or scores.metric.kind == "set":
                continue
            value = scores.values.get(image_id, math.nan)
            row[scores.name] = None if math.isnan(value) else value
            if image_id in scores.errors:
                errors[scores.name] = scores.errors[image_id]
            elif image_id not in scores.values:
                errors[scores.name] = f"no {scores.metric.reference} image matches this output"
        rows.append(row | {"errors": errors})
    return rows


def report(pairing: Any, scorings: list[Any], folders: dict[str, Path | None]) -> dict[str, Any]:
    """The whole JSON report."""
    return {
        "metrics": {scores.name: metric_summary(scores) for scores in scorings},
        "per_image": per_image(pairing, scorings),
        "unmatched": pairing.unmatched,
        "folders": {role: str(path) if path else None for role, path in folders.items()},
    }


def protocol_score(name: str, scorings: list[Any]) -> dict[str, Any] | None:
    """The protocol's weighted score and identity check over the scored folder, if it has them.

    Per-image metrics enter through their test-set-weighted means (images' first folders are
    the test sets), set metrics through their value; a missing term is named, never invented.
    """
    from bench.protocols import gate_counts, load_protocol, overall_mean, weighted_score

    protocol = load_protocol(name)
    by_name = {scores.name: scores for scores in scorings}
    entry: dict[str, Any] = {}
    if protocol.score is not None:
        overall: dict[str, float | None] = {}
        why: dict[str, str] = {}
        for term in protocol.score.terms:
            scores = by_name.get(term.metric)
            if scores is None or scores.unavailable:
                why[term.metric] = scores.unavailable if scores else "not scored"
            elif scores.metric.kind == "set":
                result = scores.set_result or {}
                overall[term.metric] = result.get("value")
                if result.get("error"):
                    why[term.metric] = result["error"]
            else:
                overall[term.metric], problem = overall_mean(protocol.score, scores.values)
                if problem:
                    why[term.metric] = next(iter(scores.errors.values()), problem)
        result = weighted_score(protocol.score, overall, why)
        entry |= {"title": protocol.score.title, "total": result.total, "terms": result.terms}
        entry["missing"] = result.missing
    gate = protocol.gate
    if gate is not None and (scores := by_name.get(gate.metric)) and not scores.unavailable:
        entry["low_identity"] = {k: list(v) for k, v in gate_counts(gate, scores.values).items()}
    return entry or None


def table(result: dict[str, Any]) -> str:
    """The summary table printed on stdout."""
    from reports.stats import PLUS_MINUS

    lines = [f"{'metric':<12} {'value':>22} {'n':>6} {'failed':>6}  better"]
    for name, entry in result["metrics"].items():
        better = "higher" if entry["higher_is_better"] else "lower"
        if "unavailable" in entry:
            lines.append(f"{name:<12} unavailable: {entry['unavailable']}")
        elif entry["kind"] == "set":
            lines.append(_set_line(name, entry, better))
        else:
            value = _number(entry["mean"])
            if entry["ci_low"] is not None:
                value += f" ± {_number((entry['ci_high'] - entry['ci_low']) / 2)}"
            lines.append(f"{name:<12} {value:>22} {entry['n']:>6} {entry['failed']:>6}  {better}")
    lines.append(PLUS_MINUS)
    score = result.get("protocol_score") or {}
    if "title" in score:
        total = "-" if score["total"] is None else f"{score['total']:.4f}"
        lines.append(f"{score['title']}: {total}")
        for metric, why in score["missing"].items():
            lines.append(f"  missing {metric}: {why}")
    if "low_identity" in score:
        low, n = score["low_identity"]["All"]
        lines.append(f"low identity similarity: {low} of {n} images")
    for role, ids in result["unmatched"].items():
        if ids:
            lines.append(
                f"{role}: {len(ids)} ({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})"
            )
    return "\n".join(lines)


def _set_line(name: str, entry: dict[str, Any], better: str) -> str:
    if entry.get("error"):
        return f"{name:<12} failed: {entry['error']}"
    line = f"{name:<12} {_number(entry['value']):>22} {entry['n']:>6} {'':>6}  {better}"
    warning = entry.get("extra", {}).get("warning")
    return f"{line}\n{'':<12} note: {warning}" if warning else line


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """The per-image rows as CSV (errors as one JSON column), written atomically."""
    import csv
    import io
    import json

    from bench.files import atomic_write_text

    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row | {"errors": json.dumps(row["errors"], sort_keys=True)})
    atomic_write_text(path, buffer.getvalue())


def main(args: argparse.Namespace) -> int:
    from bench.config import ConfigError
    from bench.files import atomic_write_json
    from bench.scoring import print_progress, score_folders

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {args.batch_size}")
    pairing, scorings = score_folders(
        args.pred,
        args.gt,
        args.input,
        args.ref,
        metric_entries(args.metrics, args.protocol),
        args.device,
        args.batch_size,
        print_progress,
    )
    folders = {"pred": args.pred, "gt": args.gt, "input": args.input, "ref": args.ref}
    result = report(pairing, scorings, folders)
    if args.protocol:
        result["protocol_score"] = protocol_score(args.protocol, scorings)
    print(table(result))
    if args.json:
        atomic_write_json(args.json, result)
        write_csv(args.json.with_suffix(".csv"), result["per_image"])
        print(f"wrote {args.json} and {args.json.with_suffix('.csv')}")
    return 0
