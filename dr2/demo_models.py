"""Named UNet configurations for the small demo diffusion models trained on CelebA crops."""

from __future__ import annotations

from dataclasses import replace

from dr2.unet import UNetConfig

# ~1.9 M parameters at 64x64: 4 levels (64, 32, 16, 8), attention at 16 and 8; scale-shift norm
# and residual up/down blocks (the UNetConfig defaults).
DEMO64 = UNetConfig(
    image_size=64,
    model_channels=32,
    num_res_blocks=1,
    channel_mult=(1, 2, 2, 2),
    attention_resolutions=(16, 8),
    num_head_channels=32,
)

PRESETS: dict[str, UNetConfig] = {
    "demo64": DEMO64,
    # ~1.4 M parameters at 32x32: 3 levels (32, 16, 8), attention at 16 and 8.
    "demo32": replace(DEMO64, image_size=32, channel_mult=(1, 2, 2)),
    # A few thousand parameters' worth of network for tests and smoke runs.
    "tiny": replace(DEMO64, image_size=16, channel_mult=(1, 2), attention_resolutions=(8,)),
}


def preset(name: str, image_size: int | None = None, learn_sigma: bool = False) -> UNetConfig:
    """The preset ``name``, optionally at another size or with learned-range variance."""
    if name not in PRESETS:
        raise KeyError(f"unknown UNet preset {name!r}; known: {', '.join(sorted(PRESETS))}")
    base = PRESETS[name].to_dict()
    if image_size is not None:
        base["image_size"] = image_size
    base["learn_sigma"] = learn_sigma
    base["out_channels"] = base["in_channels"] * (2 if learn_sigma else 1)
    return UNetConfig.from_dict(base)
