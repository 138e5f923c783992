"""One figure style for every report figure, and saving figures as PNG (PDF and SVG on request).

Figures are plain :class:`matplotlib.figure.Figure` objects drawn on the Agg canvas (pyplot and
its global state are never used). Colours are the Okabe-Ito palette, safe for the common forms of
colour blindness; beyond eight restorers, markers and line styles keep them apart. Text from data
is never parsed as mathtext. Saved files carry no date, so a report is reproducible byte for byte.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

from bench.files import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow (last: weak on white)
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINE_STYLES = ("-", "--", ":", "-.")
HEATMAP = "cividis"
PRINT_DPI = 300
VECTOR_FORMATS = ("pdf", "svg")
RC: dict[RcKeyType, Any] = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.4,
    "lines.markersize": 4,
    "text.parse_math": False,
    "svg.hashsalt": "dr2bench",
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "image.cmap": HEATMAP,
}
P = ParamSpec("P")
R = TypeVar("R")


def styled(function: Callable[P, R]) -> Callable[P, R]:
    """Run a drawing function under the report style (a decorator)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import matplotlib

        with matplotlib.rc_context(RC):
            return function(*args, **kwargs)

    return wrapper


def new_figure(
    width: float,
    height: float,
    layout: Literal["constrained", "compressed", "tight"] | None = "constrained",
) -> Figure:
    """A figure of ``width`` x ``height`` inches on an Agg canvas (constrained layout unless
    ``layout=None``, for axes placed by hand)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(figure)
    return figure


def restorer_styles(labels: list[str]) -> dict[str, dict[str, Any]]:
    """A distinct colour, marker and line style for each restorer, stable in the given order."""
    return {
        label: {
            "color": OKABE_ITO[i % len(OKABE_ITO)],
            "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINE_STYLES[(i // len(OKABE_ITO)) % len(LINE_STYLES)],
        }
        for i, label in enumerate(labels)
    }


@dataclass(frozen=True)
class SavedFigure:
    """A figure written to disk.

    Attributes:
        name: File stem.
        title: What the figure shows.
        files: The PNG file (what the HTML and Markdown reports show), then any vector files.
    """

    name: str
    title: str
    files: tuple[Path, ...]


@styled
def save_figure(
    figure: Figure, folder: Path, name: str, title: str, vector: tuple[str, ...] = ()
) -> SavedFigure:
    """Write ``folder/name.png`` (print resolution) and ``name.<v>`` for each ``vector`` format
    (``pdf``, ``svg``: only when a report asks for them), without dates.

    Figures lay themselves out (constrained layout), so nothing is cropped when saving.

    Example:
        >>> figure = new_figure(3, 2)
        >>> saved = save_figure(figure, Path("out"), "empty", "An empty figure")  # doctest: +SKIP
    """
    folder.mkdir(parents=True, exist_ok=True)
    metadata = {
        "png": {"Software": None},
        "pdf": {"CreationDate": None, "Creator": None, "Producer": None},
        "svg": {"Date": None, "Creator": None},
    }
    files: list[Path] = []
    for suffix in ("png", *vector):
        path = folder / f"{name}.{suffix}"
        if files:  # laid out once, by the first save: the layout is in inches, not pixels
            figure.set_layout_engine("none")
        rendered = io.BytesIO()
        figure.savefig(rendered, format=suffix, dpi=PRINT_DPI, metadata=metadata[suffix])
        data = rendered.getvalue()
        atomic_write_bytes(path, _opaque_png(data) if suffix == "png" else data)
        files.append(path)
    return SavedFigure(name=name, title=title, files=tuple(files))


def _opaque_png(png: bytes) -> bytes:
    """Matplotlib's RGBA PNG of an opaque figure as RGB, compressed harder (a grid of photos
    is a sixth smaller)."""
    from PIL import Image

    buffer = io.BytesIO()
    with Image.open(io.BytesIO(png)) as image:
        image.convert("RGB").save(buffer, format="PNG", dpi=image.info["dpi"])
    return buffer.getvalue()
