"""Demo-model training: data crops, a few steps, exact resume, export with metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dr2.celeba import face_box, list_images, load_faces, split_files
from dr2.model_io import load_model, read_metadata
from dr2.train import TrainConfig, Trainer, ema_decay_at, main, train


@pytest.fixture(scope="module")
def face_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(0)
    for i in range(6):
        pixels = rng.integers(0, 256, size=(109, 89, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:06d}.jpg", quality=95)
    return folder


def test_face_crop_and_split(face_folder: Path) -> None:
    assert face_box(89, 109) == (12, 28, 76, 92)
    files = list_images(face_folder)
    faces = load_faces(files, 16)
    assert faces.shape == (6, 3, 16, 16) and faces.dtype == torch.uint8
    train_files, held_out = split_files([Path(f"{i}.jpg") for i in range(3000)])
    assert len(train_files) == 2000 and held_out[0] == Path("2000.jpg")
    assert split_files(files) == (files, [])


def _config(folder: Path, out: Path, steps: int, **kw) -> TrainConfig:
    return TrainConfig(
        data=folder, out=out, size=16, steps=steps, batch_size=2, preset="tiny", threads=1,
        checkpoint_every=2, export_every=0, warmup=1, **kw,
    )  # fmt: skip


def test_resume_gives_the_same_weights(face_folder: Path, tmp_path: Path) -> None:
    straight = train(_config(face_folder, tmp_path / "a", 4))
    train(_config(face_folder, tmp_path / "b", 2))
    resumed = train(_config(face_folder, tmp_path / "b", 4, resume=True))
    a, _, meta_a = load_model(straight)
    b, _, meta_b = load_model(resumed)
    assert meta_a["step"] == meta_b["step"] == "4"
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(x, y), name
    with pytest.raises(FileExistsError, match="--resume"):
        train(_config(face_folder, tmp_path / "a", 4))


def test_learned_sigma_and_bf16_steps_run(face_folder: Path, tmp_path: Path) -> None:
    trainer = Trainer(_config(face_folder, tmp_path, 1, learn_sigma=True, amp="bf16"))
    trainer.load_data()
    loss = trainer.train_step()
    assert np.isfinite(loss) and trainer.step == 1
    path = trainer.export(tmp_path / "m.safetensors")
    assert '"learn_sigma": true' in read_metadata(path)["unet_config"]
    assert '"learned_range"' in read_metadata(path)["diffusion_config"]


def test_ema_decay_warms_up() -> None:
    assert ema_decay_at(0, 0.999) == pytest.approx(0.1)
    assert ema_decay_at(10**6, 0.999) == 0.999


def test_command_line(face_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["--data", str(face_folder), "--out", str(tmp_path), "--size", "16", "--steps", "1"]
    assert main([*args, "--batch-size", "2", "--preset", "tiny", "--threads", "1"]) == 0
    assert capsys.readouterr().out.strip().endswith("ema.safetensors")
