"""Write the invariance experiment: CSV and Markdown tables, figures and a JSON summary.

Layout of the output folder::

    closed_form.csv      signal ratio at every respaced step, per degradation and band
    set_distances.csv    probe accuracy and MMD at the measured steps
    types_probe.csv      the probe telling all degradation types (and clean) apart
    thresholds.csv/.md   smallest indistinguishable t per degradation and band, by each measure
    summary.json         the configuration, definitions, thresholds and a suggested (N, tau,
                         omega) per degradation (:func:`dr2.analysis.suggest.choose`)
    figures/             closed_form, set_distances, embedding (.png, .pdf)
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.files import atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    import pandas as pd

    from dr2.analysis.invariance import InvarianceResult

DEFINITIONS = {
    "signal_ratio": "r(t) = a s / (2 (1 - a) nu): s = ||L(x - y)||^2 / d, nu = E||L e||^2 / d "
    "(1 full band; ||M||_F^4 / S^2 for Phi_N), a = alpha_bar_t; images in [-1, 1]",
    "distance": "E||L(x_t - y_t)||^2 / E||L(sqrt(1 - a)(e1 - e2))||^2 = 1 + r(t)",
    "t_closed_form": "smallest respaced t with the mean signal ratio <= threshold",
    "t_closed_form_p90": "smallest respaced t with the signal ratio <= threshold for 90% of faces",
    "t_probe": "smallest measured t from which on a linear probe (clean vs degraded, held-out "
    "faces) is not significantly above chance (one-sided binomial test at alpha)",
    "N": "band: 1 is the full band, else the low-pass factor of Phi_N",
}


def write_invariance(result: InvarianceResult, folder: Path) -> list[Path]:
    """Write every table, figure and the summary; return the files written."""
    from dr2.analysis.plots import closed_form_figure, embedding_figure, set_distance_figure
    from reports.figures import save_figure

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    tables = {
        "closed_form": result.closed_form,
        "set_distances": result.set_distances,
        "types_probe": result.types_probe,
        "thresholds": result.thresholds,
    }
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        atomic_write_text(path, table.to_csv(index=False, float_format="%.6g"))
        files.append(path)
    markdown = folder / "thresholds.md"
    atomic_write_text(markdown, threshold_markdown(result))
    files.append(markdown)
    figures = {
        "closed_form": (closed_form_figure, "Signal ratio against t per degradation and band"),
        "set_distances": (set_distance_figure, "Probe accuracy and MMD against t"),
        "embedding": (embedding_figure, "PCA of clean and degraded faces as t grows"),
    }
    for name, (draw, title) in figures.items():
        files.extend(save_figure(draw(result), folder / "figures", name, title, ("pdf",)).files)
    summary = folder / "summary.json"
    atomic_write_json(summary, summary_dict(result))
    files.append(summary)
    return files


def threshold_markdown(result: InvarianceResult) -> str:
    """Markdown table: per degradation, the smallest t per band (closed form, p90, probe)."""
    table = result.thresholds
    bands = list(result.config.bands)
    header = ["degradation", *("full band" if n == 1 else f"N = {n}" for n in bands)]
    lines = [
        f"Smallest respaced t (of K = {result.config.respacing}) at which each degradation is "
        f"indistinguishable: closed form for the mean face / for 90% of faces (signal ratio <= "
        f"{result.config.threshold:g}) / linear probe at chance (alpha = "
        f"{result.config.alpha:g}, steps {', '.join(map(str, result.config.steps))}). "
        "'-': not within the steps.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for spec in result.degradations:
        rows = table[table["degradation"] == spec.label].set_index("N")
        cells = [_cell(rows.loc[n]) for n in bands]
        lines.append("| " + " | ".join([spec.label, *cells]) + " |")
    return "\n".join(lines) + "\n"


def _cell(row: pd.Series) -> str:
    values = [row["t_closed_form"], row["t_closed_form_p90"], row["t_probe"]]
    return " / ".join("-" if _missing(v) else str(int(v)) for v in values)


def _missing(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def summary_dict(result: InvarianceResult) -> dict[str, Any]:
    """The JSON summary: configuration, definitions, thresholds and suggestions."""
    from dr2.analysis.suggest import choose

    config = asdict(result.config)
    config["input"] = str(config["input"])
    config["bands"] = list(result.config.bands)
    suggestions = {}
    for spec in result.degradations:
        rows = result.thresholds[result.thresholds["degradation"] == spec.label]
        signals = dict(zip(rows["N"].astype(int), rows["signal"].astype(float), strict=True))
        if len(signals) > 1:
            choice = choose(
                signals, result.alphas_cumprod, result.config.size, result.config.threshold
            )
            suggestions[spec.label] = {"N": choice.N, "tau": choice.tau, "omega": choice.omega}
    return {
        "config": config,
        "images": len(result.image_ids),
        "definitions": DEFINITIONS,
        "thresholds": _plain(result.thresholds.to_dict(orient="records")),
        "suggestions": suggestions,
    }


def _plain(value: Any) -> Any:
    """numpy and pandas scalars to plain Python, missing values to None, recursively."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if _missing(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value
