"""``dr2bench analyze``: light to import, lists parsed, bad input named."""

from __future__ import annotations

import subprocess
import sys

from bench.cli import main
from bench.commands.analyze import _ints, _names


def test_command_module_imports_nothing_heavy():
    code = (
        "import sys, bench.commands.analyze; "
        "print(sorted(m for m in ('torch', 'pandas', 'cv2', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lists_take_commas_and_spaces():
    assert _ints(["4", "8,16"]) == (4, 8, 16)
    assert _names(["classic, unseen", "jpeg"]) == ("classic", "unseen", "jpeg")


def test_bad_list_is_a_one_line_error(tmp_path, capsys):
    code = main(
        [
            "analyze",
            "invariance",
            "--input",
            str(tmp_path),
            "--output",
            str(tmp_path),
            "--steps",
            "0,ten",
        ]
    )
    assert code == 2
    assert "expected integers, got '0,ten'" in capsys.readouterr().err


def test_unknown_chain_is_named(tmp_path, capsys):
    code = main(
        [
            "analyze",
            "invariance",
            "--input",
            str(tmp_path),
            "--output",
            str(tmp_path),
            "--chains",
            "clasic",
        ]
    )
    assert code == 2
    assert "did you mean 'classic'" in capsys.readouterr().err
