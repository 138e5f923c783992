"""Fuzzing: random and mutated inputs give a documented error or a valid result, never a crash.

Each property runs a few hundred derandomized examples (the same ones on every run, so CI is
reproducible); examples that once broke a reader are pinned with ``@example``.
"""

from __future__ import annotations

import copy
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from bench.config import ConfigError
from bench.datasets import DatasetError, read_params, write_params
from bench.images import MAX_SIDE, MIN_SIDE, ImageError, decode_image
from bench.registry import DEGRADATIONS
from bench.run.config import RunConfig, load_run_config
from degradations.base import DegradationError

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "faces").mkdir()
    return root


# -- run config ------------------------------------------------------------------------------


def _base_config(root: Path) -> dict[str, Any]:
    return {
        "name": "fuzz",
        "output": str(root / "run"),
        "datasets": [
            {"name": "faces", "kind": "folder", "path": str(root / "faces")},
            {"name": "pairs", "kind": "paired", "path": str(root)},
        ],
        "degradations": [{"chain": "gfpgan", "severities": [0]}, {"chain": "jpeg"}],
        "restorers": [
            "identity",
            {"name": "lanczos", "params": {"size": 64}, "grid": {"size": [32, 64]}, "label": "lz"},
        ],
        "metrics": ["psnr", {"name": "fid", "params": {"mode": "legacy"}}],
        "seeds": [0, 1],
        "batch_size": 2,
        "keep_images": "all",
        "limit": 3,
        "timeout_s": 1.5,
    }


def _positions(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path inside a nested config."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _positions(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _positions(item, (*prefix, index))
    return found


POSITIONS = _positions(_base_config(Path("/")))
NAMES = st.sampled_from(["identity", "psnr", "fid", "folder", "paired", "../x", "a/b", "dr2", ""])
EDITS = st.lists(
    st.tuples(st.sampled_from(POSITIONS), JSON_VALUES | NAMES, st.booleans()),
    min_size=1,
    max_size=3,
)


def _edit(config: dict[str, Any], position: tuple, value: Any, delete: bool) -> None:
    *head, last = position
    target: Any = config
    try:
        for key in head:
            target = target[key]
        if delete:
            del target[last]
        else:
            target[last] = value
    except (KeyError, IndexError, TypeError):
        pass  # an earlier edit removed or replaced the container


def _load(folder: Path, text: str) -> None:
    path = folder / "run.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        assert isinstance(load_run_config(path), RunConfig)
        event("a valid config")
    except ConfigError as exc:
        assert str(exc).startswith(str(path)) or "run.yaml" in str(exc)
        event("ConfigError")


@FUZZ
@given(edits=EDITS)
@example(edits=[(("metrics",), 1, False)])  # once a TypeError
def test_run_config_loader_edited_configs(folder, edits):
    config = copy.deepcopy(_base_config(folder))
    for position, value, delete in edits:
        _edit(config, position, value, delete)
    _load(folder, yaml.safe_dump(config))


@FUZZ
@given(text=st.text(max_size=200))
@example(text="name: 2023-02-30\n")  # a date that does not exist: once a ValueError
@example(text="seed: " + "9" * 5000)  # over Python's 4300-digit limit: once a ValueError
@example(text="a: " + "[" * 5000)  # nesting deeper than the recursion limit
@example(text="name: !!python/object/apply:os.getcwd []\n")
def test_run_config_loader_random_text(folder, text):
    _load(folder, text)


def test_an_empty_grid_is_an_error_not_a_missing_restorer(folder):
    config = _base_config(folder) | {"restorers": [{"name": "lanczos", "grid": {"size": []}}]}
    path = folder / "empty-grid.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"restorers\[0\]: grid 'size' has no values"):
        load_run_config(path)


# -- params.jsonl ----------------------------------------------------------------------------

RECORD = {
    "id": "a.png",
    "chain": "jpeg",
    "chain_version": 1,
    "severity": 1,
    "seed": 0,
    "dataset": "faces",
    "steps": [{"name": "jpeg", "version": 1, "params": {"quality": 80}}],
}
LINES = st.one_of(
    st.text(max_size=40),
    JSON_VALUES.map(json.dumps),
    st.tuples(st.sampled_from(sorted(RECORD)), JSON_VALUES, st.booleans()).map(
        lambda edit: json.dumps(
            {k: v for k, v in RECORD.items() if not (edit[2] and k == edit[0])}
            | ({} if edit[2] else {edit[0]: edit[1]})
        )
    ),
)


@FUZZ
@given(lines=st.lists(LINES, max_size=5))
@example(lines=['{"id": 1' + "0" * 5000 + "}"])
@example(lines=["[" * 10000])
def test_params_reader(folder, lines):
    path = folder / "params.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    try:
        records = read_params(path)
    except DatasetError as exc:
        assert str(path) in str(exc)
        event("DatasetError")
        return
    event(f"{len(records)} records")
    for key, record in records.items():
        assert record["id"] == key and isinstance(key, str) and key
        assert isinstance(record["chain"], str) and isinstance(record["steps"], list)
        assert isinstance(record["chain_version"], int)


TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)


@FUZZ
@given(ids=st.lists(TEXT, unique=True, max_size=4), chain=TEXT)
@example(ids=["line\u2028separator", "next\x85line", "form\x0cfeed"], chain="jpeg")
def test_params_round_trip(folder, ids, chain):
    records = [RECORD | {"id": image_id, "chain": chain} for image_id in ids]
    write_params(folder / "round.jsonl", records)
    assert read_params(folder / "round.jsonl") == {r["id"]: r for r in records}


# -- image decoding --------------------------------------------------------------------------


def _encoded(fmt: str, mode: str, **options: Any) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (36, 40, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    if mode == "F":
        image = Image.fromarray(np.asarray(image, dtype=np.float32) / 255.0)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


SEEDS = [
    _encoded("PNG", "RGB"),
    _encoded("PNG", "RGBA"),
    _encoded("PNG", "P"),
    _encoded("PNG", "I;16"),
    _encoded("JPEG", "RGB"),
    _encoded("JPEG", "CMYK"),
    _encoded("TIFF", "F"),
    _encoded("WEBP", "RGB"),
    _encoded("BMP", "L"),
    _encoded("GIF", "P"),
]


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "insert"]))
        if kind == "flip":
            data[position] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[position : position + draw(st.integers(1, 64))]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        if not data:
            break
    return bytes(data)


def _nan_tiff() -> bytes:
    values = np.full((40, 40), 0.5, np.float32)
    values[3, 4] = np.nan
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, format="TIFF")
    return buffer.getvalue()


@FUZZ
@given(data=st.binary(max_size=300) | mutated())
@example(data=_nan_tiff())  # a float image with NaN: once decoded to NaN pixels
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_image_decoding(data):
    try:
        image = decode_image(data, name="fuzzed.png")
    except ImageError as exc:
        assert str(exc).startswith("fuzzed.png: ")
        event("ImageError")
        return
    event("decoded")
    assert image.dtype == np.float32 and image.ndim == 3 and image.shape[2] == 3
    assert min(image.shape[:2]) >= MIN_SIDE and max(image.shape[:2]) <= MAX_SIDE
    assert np.isfinite(image).all() and image.min() >= 0.0 and image.max() <= 1.0


# -- degradation parameters ------------------------------------------------------------------

IMAGE = np.random.default_rng(1).uniform(0, 1, (40, 36, 3)).astype(np.float32)


def _valid(field: Any) -> st.SearchStrategy:
    """Values inside a field's documented range (odd sizes may still be even)."""
    if field.kind in (int, float) and field.low is not None:
        numbers = st.integers(math.ceil(field.low), math.floor(field.high))
        return numbers | st.floats(field.low, field.high) if field.kind is float else numbers
    if field.choices:
        return st.sampled_from(field.choices)
    return st.booleans()


INVALID = JSON_SCALARS | st.integers(10**300, 10**400) | st.floats()


@st.composite
def parameters(draw) -> tuple[str, dict[str, Any]]:
    """A degradation and parameters: each valid 4 times in 5, else invalid or missing."""
    name = draw(st.sampled_from(DEGRADATIONS.names()))
    params = {}
    for key, field in DEGRADATIONS.get(name).fields.items():
        choice = draw(st.integers(0, 9))
        if choice < 8:
            params[key] = draw(_valid(field))
        elif choice == 8:
            params[key] = draw(INVALID)
    if draw(st.integers(0, 9)) == 0:
        params[draw(st.text(max_size=5))] = 1
    return name, params


@FUZZ
@given(case=parameters())
@example(case=("gaussian_blur", {"sigma": 10**400, "kernel_size": 41}))  # once an OverflowError
def test_degradation_parameters_applied(case):
    name, params = case
    degradation = DEGRADATIONS.create(name)
    try:
        output = degradation.apply(IMAGE, params)
    except DegradationError as exc:
        assert str(exc).startswith(name)
        event("DegradationError")
        return
    event("degraded")
    assert output.dtype == np.float32 and output.ndim == 3 and output.shape[2] == 3
    assert np.isfinite(output).all() and output.min() >= 0.0 and output.max() <= 1.0
    if degradation.keeps_size:
        assert output.shape == IMAGE.shape


SPECS = st.one_of(
    JSON_SCALARS,
    st.lists(st.integers(-5, 300) | st.floats(-5, 300), min_size=0, max_size=3),
    st.fixed_dictionaries({"choice": st.lists(JSON_SCALARS, max_size=3)}),
)


@FUZZ
@given(
    name=st.sampled_from(DEGRADATIONS.names()),
    specs=st.dictionaries(st.text(max_size=12), SPECS, max_size=3),
    seed=st.integers(0, 2**32),
)
def test_degradation_specs_sampled(name, specs, seed):
    fields = DEGRADATIONS.get(name).fields
    specs = {
        (key if key in fields else sorted(fields)[len(key) % len(fields)]): v
        for key, v in specs.items()
    }
    try:
        degradation = DEGRADATIONS.create(name, **specs)
        params = degradation.sample(np.random.default_rng(seed), None)
    except ConfigError:  # DegradationError is one
        event("ConfigError")
        return
    event("sampled")
    assert json.loads(json.dumps(params)) == params  # JSON-ready, as recorded
    assert degradation.check_params(params) == params
