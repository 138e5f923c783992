"""The ``command`` restorer with a fake inference script: success, failure, timeout, odd outputs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.command import file_stems
from baselines.outputs import resample
from baselines.process import run_process
from bench.config import ConfigError
from bench.contracts import RestoreFailures, Unavailable
from bench.images import to_numpy, to_tensor, to_uint8
from bench.registry import RESTORERS

SCRIPT = Path(__file__).with_name("fake_inference.py")
IDS = ["sub/0001.png", "0002.jpg", "0003.png"]


@pytest.fixture
def images(rng) -> torch.Tensor:
    return to_tensor([rng.random((36, 40, 3), dtype=np.float32) for _ in IDS])


def make(extra: str = "", **params):
    command = f"{{python}} {SCRIPT} -i {{input}} -o {{output}} {extra}".strip()
    restorer = RESTORERS.create("command", command=command, **params)
    restorer.load("cpu")
    return restorer


def negative(images: torch.Tensor) -> list[np.ndarray]:
    """What the fake script writes: 255 minus the 8-bit input."""
    return [255 - to_uint8(image) for image in to_numpy(images)]


def test_success_with_renamed_outputs_env_and_log(images):
    restorer = make(
        "--pattern restored_faces/{{stem}}_00.png",
        output_pattern="restored_faces/{stem}_00.png",
        env={"FAKE_TAG": "seen"},
    )
    output = restorer.restore_batch(images, [0, 0, 0], IDS)
    for got, expected in zip(to_numpy(output), negative(images), strict=True):
        np.testing.assert_array_equal(to_uint8(got), expected)
    log = "\n".join(restorer.take_log())
    assert "fake inference, tag=seen" in log
    assert "processed sub__0001" in log and "processed 0002" in log
    assert "command exited with status 0" in log
    assert restorer.take_log() == []


def test_plain_restore_names_files_by_position(images):
    output = make().restore(images, [0, 0, 0])
    np.testing.assert_array_equal(to_uint8(to_numpy(output)[2]), negative(images)[2])


def test_missing_and_broken_outputs_are_failures_of_those_images(images):
    restorer = make("--skip 0002 --corrupt 0003 --exit 3")
    with pytest.raises(RestoreFailures) as caught:
        restorer.restore_batch(images, [0, 0, 0], IDS)
    failures = caught.value.failures
    assert set(failures) == {1, 2}
    assert "no output 0002.png for input 0002.png (command exited with status 3)" in failures[1]
    assert "broken output" in failures[2] and "0003.png" in failures[2]
    output = caught.value.output
    np.testing.assert_array_equal(to_uint8(to_numpy(output)[0]), negative(images)[0])
    assert torch.equal(output[1:], images[1:])  # placeholders: the inputs
    assert "skipping 0002" in "\n".join(restorer.take_log())


def test_timeout_kills_the_command_and_its_children(images, tmp_path):
    pid_file = tmp_path / "child.pid"
    restorer = make(f"--hang 60 --child-pid-file {pid_file}", timeout_s=1.5)
    start = time.monotonic()
    with pytest.raises(RestoreFailures) as caught:
        restorer.restore_batch(images, [0, 0, 0], IDS)
    assert time.monotonic() - start < 20
    assert set(caught.value.failures) == {0, 1, 2}
    assert all("command timed out after" in why for why in caught.value.failures.values())
    child = int(pid_file.read_text())
    assert not _alive(child), "the command's child process survived the timeout"


def _alive(pid: int) -> bool:
    for _ in range(50):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.1)
    return True


def test_outputs_of_another_size_are_resized_or_fail(images):
    output = make("--scale 2").restore_batch(images, [0, 0, 0], IDS)
    assert output.shape == images.shape
    upscaled = np.repeat(np.repeat(negative(images)[0], 2, axis=0), 2, axis=1)
    expected = resample(upscaled.astype(np.float32) / 255.0, 36, 40)
    np.testing.assert_allclose(to_numpy(output)[0], expected, atol=1e-6)
    with pytest.raises(RestoreFailures) as caught:
        make("--scale 2", resize=False).restore_batch(images, [0, 0, 0], IDS)
    assert "is 80x72, the input is 40x36" in caught.value.failures[0]


def test_per_folder_mode_asks_for_the_whole_set():
    assert make(mode="per_folder").whole_set
    assert not make().whole_set


def test_work_dir_keeps_inputs_outputs_and_log(images, tmp_path):
    restorer = make(work_dir=str(tmp_path / "work"))
    restorer.restore_batch(images, [0, 0, 0], IDS)
    (call,) = list((tmp_path / "work").iterdir())
    assert sorted(p.name for p in (call / "input").iterdir()) == [
        "0002.png",
        "0003.png",
        "sub__0001.png",
    ]
    assert len(list((call / "output").iterdir())) == 3
    assert "fake inference" in (call / "command.log").read_text()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"command": "prog -i {input}"}, "must use {input} and {output}"),
        ({"command": "prog {input} {output} {gpu}"}, r"got \['gpu', 'input', 'output'\]"),
        ({"command": "prog {input} {output", "timeout_s": 1}, "malformed"),
        ({"command": "prog '{input} {output}"}, "cannot be split: No closing quotation"),
        ({"command": "p {input} {output}", "output_pattern": "x.png"}, "must use {stem}"),
        ({"command": "p {input} {output}", "output_pattern": "../{stem}.png"}, "inside"),
        ({"command": "p {input} {output}", "timeout_s": 0}, "timeout_s must be positive"),
        ({"command": "p {input} {output}", "mode": "per_image"}, "is not one of"),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ConfigError, match=message):
        RESTORERS.create("command", **params)


def test_missing_program_is_unavailable_at_load(tmp_path):
    restorer = RESTORERS.create("command", command="no-such-program-x {input} {output}")
    with pytest.raises(Unavailable, match="program 'no-such-program-x' not found"):
        restorer.load()
    restorer = RESTORERS.create("command", command="p {input} {output}", cwd=str(tmp_path / "x"))
    with pytest.raises(Unavailable, match="working folder .* does not exist"):
        restorer.load()


def test_program_that_cannot_start_is_recorded():
    result = run_process([os.devnull, "x"], timeout_s=5)
    assert result.returncode is None
    assert result.outcome().startswith("command did not start")


def test_file_stems_are_flat_and_unique():
    assert file_stems(["a/b.jpg", "c.png", "a/b.png", "d"]) == ["a__b", "c", "a__b__2", "d"]
