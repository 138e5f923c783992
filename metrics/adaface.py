"""AdaFace's IR-50 (MS1MV2), its Lightning checkpoint and a strict, safe loader.

The network is ``net.build_model('ir_50')`` of mk-minchul/AdaFace, which the NTIRE 2025
Real-World Face Restoration challenge's ``eval.py`` runs for its identity check: a ``3 x 112 x
112`` BGR face in ``[-1, 1]`` in, an L2-normalised 512-d embedding out. Our implementation is
written from the architecture; its ``state_dict`` has exactly the names and shapes of
``tests/metrics/specs/adaface_ir50.keys.json`` (dumped from the original ``net.py``).

The released file ``adaface_ir50_ms1mv2.ckpt`` is a PyTorch Lightning checkpoint: its
``state_dict`` entry holds the backbone under ``model.`` and the AdaFace margin head under
``head.`` (ignored, as the challenge's loader ignores it), beside Lightning's bookkeeping
(epoch, optimizer and callback states, hyper-parameters). It is read with
``torch.load(weights_only=True)`` through :func:`bench.weights.load_checkpoint`: no code in the
file runs. Lightning 1.x pickles two things that are not tensors or plain containers, and only
these are admitted, each by its full name and replaced by an inert stand-in (see
:data:`LIGHTNING_STAND_INS`): the callback class used as a key of ``callbacks`` (Lightning before
1.5 keys callback states by class, e.g. ``ModelCheckpoint``), which is never instantiated, and
Lightning's ``AttributeDict`` (a ``dict`` subclass for hyper-parameters), read as a plain dict.
Anything else that is not a tensor or a plain container is refused, naming what it is. (The
released file itself was not at hand: these two names come from the layout of pytorch-lightning
1.4.4, which AdaFace required when it released the file; a name missing here would make loading
fail with that name, not run anything.) So is a file without the backbone's exact tensors:
:class:`AdafaceCheckpointError` names the file and the first key that is missing, unexpected or
of the wrong shape. This module imports torch; the identity metrics import it only when they
load. Tests: ``tests/metrics/test_identity_adaface.py``.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bench.weights import UnsafeCheckpointError, load_checkpoint
from metrics.common import check_state

BACKBONE_PREFIX = "model."
HEAD_PREFIX = "head."
INPUT_SIZE = 112
EMBEDDING_SIZE = 512
# IR-50: (channels, units) per stage; the first unit of each stage has stride 2
STAGES = ((64, 3), (128, 4), (256, 14), (512, 3))


class AdafaceCheckpointError(ValueError):
    """A checkpoint does not hold AdaFace's IR-50 tensors; the message names file and key."""


class _LightningDict(dict):
    """Stands in for Lightning's ``AttributeDict`` while unpickling: it builds a plain dict."""

    def __new__(cls, *args: Any, **kwargs: Any) -> dict:  # type: ignore[misc]
        return dict(*args)


class _LightningCallbackClass:
    """Stands in for a Lightning callback class that keys ``callbacks``; never instantiated."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _LightningCallbackClass:
        # an UnpicklingError, so that torch.load reports it as a refused weights-only load
        raise pickle.UnpicklingError(
            "Unsupported: the checkpoint builds a Lightning callback object (only its class, "
            "as a key of 'callbacks', is admitted)"
        )


# full names (as pickled) of the only non-container globals admitted, and what stands in for them
LIGHTNING_STAND_INS: dict[str, type] = {
    "pytorch_lightning.utilities.parsing.AttributeDict": _LightningDict,
    "lightning_fabric.utilities.data.AttributeDict": _LightningDict,
    "lightning.fabric.utilities.data.AttributeDict": _LightningDict,
    "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint": _LightningCallbackClass,
}


class BasicBlockIR(nn.Module):
    """The IR unit: BN, 3x3 conv, BN, PReLU, 3x3 conv (maybe strided), BN, plus the shortcut.

    The shortcut is a strided 1x1 max-pool (a subsampling) when the channels stay, else a strided
    1x1 convolution with BN. There is no activation after the sum.
    """

    def __init__(self, inputs: int, outputs: int, stride: int) -> None:
        super().__init__()
        if inputs == outputs:
            self.shortcut_layer: nn.Module = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(
                nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs)
            )
        self.res_layer = nn.Sequential(
            nn.BatchNorm2d(inputs),
            nn.Conv2d(inputs, outputs, 3, 1, 1, bias=False),
            nn.BatchNorm2d(outputs),
            nn.PReLU(outputs),
            nn.Conv2d(outputs, outputs, 3, stride, 1, bias=False),
            nn.BatchNorm2d(outputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


class AdafaceIR50(nn.Module):
    """``net.build_model('ir_50')``: ``N x 3 x 112 x 112`` BGR in ``[-1, 1]`` -> ``N x 512``.

    The output is the embedding divided by its L2 norm, as the original's first output.
    """

    def __init__(self) -> None:
        super().__init__()
        self.input_layer = nn.Sequential(
            nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64)
        )
        units: list[nn.Module] = []
        inputs = 64
        for channels, count in STAGES:
            units.append(BasicBlockIR(inputs, channels, 2))
            units += [BasicBlockIR(channels, channels, 1) for _ in range(count - 1)]
            inputs = channels
        self.body = nn.Sequential(*units)
        side = INPUT_SIZE // 2 ** len(STAGES)  # 112 -> 56, 28, 14, 7
        self.output_layer = nn.Sequential(
            nn.BatchNorm2d(inputs),
            nn.Dropout(0.4),  # the identity in eval mode, the only mode the metric uses
            nn.Flatten(),
            nn.Linear(inputs * side * side, EMBEDDING_SIZE),
            nn.BatchNorm1d(EMBEDDING_SIZE, affine=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.output_layer(self.body(self.input_layer(x)))
        return torch.div(features, torch.norm(features, 2, 1, True))


def read_checkpoint(path: str | Path) -> Any:
    """The unpickled checkpoint, read safely with only :data:`LIGHTNING_STAND_INS` admitted.

    Raises:
        bench.weights.UnsafeCheckpointError: the file needs any other global (it would run code
            or build other objects), or is not a readable checkpoint.
    """
    stand_ins: list[Callable[..., Any] | tuple[Callable[..., Any], str]] = [
        (stand_in, name) for name, stand_in in LIGHTNING_STAND_INS.items()
    ]
    try:
        with torch.serialization.safe_globals(stand_ins):
            return load_checkpoint(path)
    except UnsafeCheckpointError as exc:  # say what was refused (torch's first line does not)
        reason = refusal_reason(str(exc.__cause__ or ""))
        if reason is None:
            raise
        raise UnsafeCheckpointError(
            f"{path}: refused to load: {reason}; only tensors, plain containers and Lightning's "
            "AttributeDict and callback class names are admitted"
        ) from exc


def refusal_reason(message: str) -> str | None:
    """The line of torch's weights-only error that names what it refused, or ``None``."""
    for line in message.splitlines()[1:]:
        line = line.strip().removeprefix("WeightsUnpickler error: ")
        if "GLOBAL" in line or line.startswith("Unsupported"):
            return line.split(" Please use ")[0].rstrip(".")
    return None


def backbone_state(checkpoint: Any, path: Path) -> dict[str, Any]:
    """The backbone's tensors of a Lightning checkpoint: ``model.`` stripped, ``head.`` dropped.

    Raises:
        AdafaceCheckpointError: no ``state_dict`` entry, or a key with neither prefix in it.
    """
    state = checkpoint.get("state_dict") if isinstance(checkpoint, Mapping) else None
    if not isinstance(state, Mapping) or not state:
        found = type(checkpoint).__name__
        if isinstance(checkpoint, Mapping):
            found = "a dict without a 'state_dict' entry" if state is None else "an empty one"
        raise AdafaceCheckpointError(
            f"{path}: expected a PyTorch Lightning checkpoint (a dict whose 'state_dict' holds "
            f"'{BACKBONE_PREFIX}' and '{HEAD_PREFIX}' tensors), found {found}"
        )
    backbone = {}
    for key, value in state.items():
        name = str(key)
        if name.startswith(BACKBONE_PREFIX):
            backbone[name[len(BACKBONE_PREFIX) :]] = value
        elif not name.startswith(HEAD_PREFIX):
            raise AdafaceCheckpointError(
                f"{path}: not a checkpoint of AdaFace's IR-50: unexpected key '{name}' in its "
                f"state_dict (expected '{BACKBONE_PREFIX}' and '{HEAD_PREFIX}' keys only)"
            )
    return backbone


def load_network(path: str | Path, device: str = "cpu") -> AdafaceIR50:
    """The network with the backbone tensors of ``path``, in eval mode, on ``device``.

    Raises:
        bench.weights.UnsafeCheckpointError: the file is a pickle that would run code.
        AdafaceCheckpointError: the file does not hold exactly this network's tensors.

    Example:
        >>> network = load_network("adaface_ir50_ms1mv2.ckpt", "cpu")  # doctest: +SKIP
        >>> network(torch.zeros(1, 3, 112, 112)).shape
        torch.Size([1, 512])
    """
    path = Path(path)
    state = backbone_state(read_checkpoint(path), path)
    network = AdafaceIR50()
    what = "AdaFace's IR-50 (net.build_model('ir_50')) of adaface_ir50_ms1mv2.ckpt"
    check_state(network, state, path, what, AdafaceCheckpointError, BACKBONE_PREFIX)
    network.load_state_dict(state, strict=True)
    return network.eval().requires_grad_(False).to(device)
