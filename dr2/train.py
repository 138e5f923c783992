"""Train a small ADM diffusion model on a folder of face crops (the DR2 demo model).

Epsilon-prediction MSE (plus ADM's VLB term when the model learns its variance range), AdamW,
an exponential moving average of the weights, uniform timesteps and random horizontal flips.
Checkpoints (model, EMA, optimizer, step, RNG states) are written atomically and resumed from;
the final EMA weights are saved as safetensors with the UNet and diffusion configs in the
metadata.

Example:
    python -m dr2.train --data ../shared/data/celeba-small --size 64 --steps 5000 \
        --batch-size 32 --out /work/ddpm_run [--resume]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from dr2.celeba import list_images, load_faces, split_files, to_model_range
from dr2.demo_models import PRESETS, preset
from dr2.diffusion import GaussianDiffusion, VarianceType
from dr2.losses import training_loss
from dr2.model_io import save_model
from dr2.threads import ThreadTuner
from dr2.unet import UNet, UNetConfig, count_parameters

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run.

    Attributes:
        data: folder of aligned face images (the last 1,000 by name are held out).
        out: run folder: ``checkpoint.pt``, ``log.jsonl``, ``ema.safetensors``.
        size: training resolution.
        steps: total optimisation steps.
        batch_size: images per step.
        preset: UNet preset name (see :mod:`dr2.demo_models`); empty picks ``demo{size}`` when
            it exists, else ``demo64`` at ``size``.
        learn_sigma: learned-range variance (hybrid loss) instead of fixed variance.
        fixed_variance: variance type recorded for sampling when ``learn_sigma`` is False.
        lr: AdamW learning rate (after a linear warm-up of ``warmup`` steps).
        weight_decay: AdamW weight decay.
        ema_decay: EMA decay; the effective decay is ``min(ema_decay, (1+n)/(10+n))`` so that short
            runs are not dominated by the random initial weights. 0.999 suits runs of a few
            thousand steps (0.9999, ADM's value, averages over ~10k steps).
        grad_clip: gradient-norm clipping (0 disables).
        seed: seed of the model init, data order, flips, timesteps and noise.
        checkpoint_every: steps between checkpoints.
        export_every: steps between EMA exports to ``export_path`` (0 disables).
        export_path: where periodic and final EMA safetensors go (default ``out/ema.safetensors``).
        device: ``cpu``, ``cuda`` or ``auto``.
        threads: torch CPU threads; 0 on CPU tunes it as the run goes (see
            :class:`dr2.threads.ThreadTuner`), which matters on small machines shared with others.
        channels_last: channels-last memory format.
        amp: ``none``, or ``bf16`` autocast for the forward pass (the weights, the
            optimizer and the loss stay float32). bf16 is ~1.5x faster on CPUs with AVX512-BF16.
        resume: continue from ``out/checkpoint.pt`` if it exists.
        holdout: files held out at the end of the sorted list.
    """

    data: Path
    out: Path
    size: int = 64
    steps: int = 5000
    batch_size: int = 32
    preset: str = ""
    learn_sigma: bool = False
    fixed_variance: VarianceType = "fixed_small"
    lr: float = 3e-4
    warmup: int = 100
    weight_decay: float = 0.0
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    seed: int = 0
    checkpoint_every: int = 250
    export_every: int = 1000
    export_path: Path | None = None
    device: str = "auto"
    threads: int = 0
    channels_last: bool = True
    amp: str = "none"
    resume: bool = False
    holdout: int = 1000
    log_every: int = 25
    extra: dict[str, Any] = field(default_factory=dict)


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """``ema = decay * ema + (1 - decay) * model`` for every parameter and buffer."""
    ema_params: list[torch.Tensor] = list(ema.parameters())
    params: list[torch.Tensor] = list(model.parameters())
    torch._foreach_lerp_(ema_params, params, 1.0 - decay)


def ema_decay_at(step: int, decay: float) -> float:
    """EMA decay used after ``step`` updates: warms up as ``(1 + n) / (10 + n)``."""
    return min(decay, (1 + step) / (10 + step))


class Trainer:
    """State of one run: data, model, EMA, optimizer and RNG; see :func:`train`."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        auto = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(auto if config.device == "auto" else config.device)
        self.tuner: ThreadTuner | None = None
        if config.threads:
            torch.set_num_threads(config.threads)
        elif self.device.type == "cpu":
            self.tuner = ThreadTuner()
        torch.manual_seed(config.seed)
        name = config.preset or (
            f"demo{config.size}" if f"demo{config.size}" in PRESETS else "demo64"
        )
        self.unet_config = preset(name, config.size, config.learn_sigma)
        variance = "learned_range" if config.learn_sigma else config.fixed_variance
        self.diffusion = GaussianDiffusion(variance=variance)
        self.model = UNet(self.unet_config).to(self.device)
        self.ema = UNet(self.unet_config).to(self.device)
        self.ema.load_state_dict(self.model.state_dict())
        self.ema.requires_grad_(False)
        if config.channels_last:
            self.model.to(memory_format=torch.channels_last)
            self.ema.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        amp_dtypes = {"none": None, "bf16": torch.bfloat16}
        if config.amp not in amp_dtypes:
            raise ValueError(f"amp must be one of {', '.join(amp_dtypes)}, not {config.amp!r}")
        self.amp_dtype = amp_dtypes[config.amp]
        self.generator = torch.Generator().manual_seed(config.seed + 1)
        self.step = 0
        self.out = Path(config.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.checkpoint_path = self.out / "checkpoint.pt"
        self.export_path = Path(config.export_path or self.out / "ema.safetensors")

    def load_data(self) -> None:
        """Decode the training split into memory."""
        files, held_out = split_files(list_images(self.config.data), self.config.holdout)
        started = time.perf_counter()
        self.data = load_faces(files, self.config.size)
        log.info(
            "decoded %d training faces (%d held out) at %dx%d in %.1f s",
            len(files), len(held_out), self.config.size, self.config.size,
            time.perf_counter() - started,
        )  # fmt: skip

    def state(self) -> dict[str, Any]:
        """Everything needed to resume, loadable with ``weights_only=True``."""
        return {
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "unet_config": self.unet_config.to_json(),
            "train_config": json.dumps(asdict(self.config), default=str),
        }

    def save_checkpoint(self) -> None:
        """Write ``checkpoint.pt`` atomically."""
        tmp = self.checkpoint_path.with_name(self.checkpoint_path.name + ".tmp")
        torch.save(self.state(), tmp)
        os.replace(tmp, self.checkpoint_path)

    def load_checkpoint(self) -> bool:
        """Resume from ``checkpoint.pt`` if present; True if resumed."""
        if not self.checkpoint_path.is_file():
            return False
        state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=True)
        saved = UNetConfig.from_json(state["unet_config"])
        if saved != self.unet_config:
            raise ValueError(
                f"{self.checkpoint_path} was trained with {saved}, not {self.unet_config}"
            )
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        log.info("resumed from %s at step %d", self.checkpoint_path, self.step)
        return True

    def export(self, path: Path | None = None) -> Path:
        """Save the EMA weights as safetensors (atomically) with configs in the metadata."""
        path = Path(path or self.export_path)
        metadata = {
            "step": str(self.step),
            "batch_size": str(self.config.batch_size),
            "data": Path(self.config.data).name,
            "parameters": str(count_parameters(self.ema)),
        }
        save_model(self.ema, self.unet_config, self.diffusion.config, path, metadata)
        return path

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A training batch ``(x0, t, noise)`` drawn with the run's generator."""
        b = self.config.batch_size
        index = torch.randint(len(self.data), (b,), generator=self.generator)
        x0 = to_model_range(self.data[index])
        flip = torch.rand(b, generator=self.generator) < 0.5
        x0 = torch.where(flip[:, None, None, None], x0.flip(3), x0)
        t = torch.randint(self.diffusion.num_timesteps, (b,), generator=self.generator)
        noise = torch.randn(x0.shape, generator=self.generator)
        to: dict[str, Any] = {"device": self.device, "non_blocking": True}
        if self.config.channels_last:
            x0 = x0.contiguous(memory_format=torch.channels_last)
            noise = noise.contiguous(memory_format=torch.channels_last)
        return x0.to(**to), t.to(**to), noise.to(**to)

    def train_step(self) -> float:
        """One optimisation step; returns the loss."""
        self.model.train()
        lr = self.config.lr * min(1.0, (self.step + 1) / max(1, self.config.warmup))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x0, t, noise = self.batch()
        with torch.autocast(
            self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None
        ):
            loss = training_loss(self.model, self.diffusion, x0, t, noise)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        update_ema(self.ema, self.model, ema_decay_at(self.step, self.config.ema_decay))
        self.step += 1
        return float(loss.detach())

    def run(self) -> Path:
        """Train to ``config.steps``, checkpointing and exporting along the way."""
        config = self.config
        log_file = (self.out / "log.jsonl").open("a")
        bar = tqdm(total=config.steps, initial=self.step, desc="train", dynamic_ncols=True)
        losses: list[float] = []
        started = time.perf_counter()
        try:
            while self.step < config.steps:
                if self.tuner:
                    self.tuner.before_step()
                losses.append(self.train_step())
                if self.tuner:
                    self.tuner.after_step()
                bar.update(1)
                if self.step % config.log_every == 0 or self.step == config.steps:
                    elapsed = time.perf_counter() - started
                    row: dict[str, Any] = {
                        "step": self.step,
                        "loss": sum(losses) / len(losses),
                        "s_per_step": elapsed / len(losses),
                        "time": time.time(),
                    }
                    if self.tuner:
                        row["threads"] = self.tuner.summary()
                    log_file.write(json.dumps(row) + "\n")
                    log_file.flush()
                    bar.set_postfix(loss=f"{row['loss']:.4f}")
                    losses, started = [], time.perf_counter()
                if self.step % config.checkpoint_every == 0:
                    self.save_checkpoint()
                if config.export_every and self.step % config.export_every == 0:
                    self.export()
        finally:
            bar.close()
            log_file.close()
        self.save_checkpoint()
        return self.export()


def train(config: TrainConfig) -> Path:
    """Train (or resume) a demo diffusion model; returns the final EMA safetensors path.

    Example:
        >>> config = TrainConfig(data=Path("faces"), out=Path("run"), steps=10)
        >>> path = train(config)  # doctest: +SKIP
    """
    trainer = Trainer(config)
    if config.resume:
        trainer.load_checkpoint()
    elif trainer.checkpoint_path.exists():
        raise FileExistsError(
            f"{trainer.checkpoint_path} exists: pass --resume to continue it or use another --out"
        )
    log.info("UNet %s: %d parameters", trainer.unet_config, count_parameters(trainer.model))
    trainer.load_data()
    return trainer.run()


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """The training options, shared by ``python -m dr2.train`` and the dr2bench CLI."""
    defaults = TrainConfig(data=Path(), out=Path())
    parser.add_argument("--data", type=Path, required=True, help="folder of aligned face images")
    parser.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, logs)")
    parser.add_argument("--size", type=int, default=defaults.size)
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--preset", default=defaults.preset)
    parser.add_argument("--learn-sigma", action="store_true", help="learned-range variance")
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--ema-decay", type=float, default=defaults.ema_decay)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every)
    parser.add_argument("--export-every", type=int, default=defaults.export_every)
    parser.add_argument("--export-path", type=Path, default=None)
    parser.add_argument("--device", default=defaults.device)
    parser.add_argument("--threads", type=int, default=defaults.threads, help="0: adaptive")
    parser.add_argument("--amp", choices=("none", "bf16"), default=defaults.amp)
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """A :class:`TrainConfig` from parsed :func:`add_train_arguments` options.

    Every option's destination is the name of the field it sets; other attributes of ``args``
    (the dr2bench CLI's command and entry point) are left out.
    """
    names = {item.name for item in fields(TrainConfig)}
    return TrainConfig(**{name: value for name, value in vars(args).items() if name in names})


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point of ``python -m dr2.train``."""
    parser = argparse.ArgumentParser(prog="python -m dr2.train", description=__doc__.split("\n")[0])
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    path = train(config_from_args(args))
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
