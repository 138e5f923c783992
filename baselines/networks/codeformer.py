"""CodeFormer: blind face restoration as code prediction with a transformer.

CodeFormer (Zhou et al., "Towards Robust Blind Face Restoration with Codebook Lookup
Transformer", NeurIPS 2022) encodes the degraded face with a VQGAN encoder, predicts for each of
the 16x16 positions the index of a code in a codebook learned on high-quality faces (a 9-layer
pre-norm transformer with learned position embeddings), and decodes the looked-up codes with the
VQGAN generator. Controllable Feature Transformation modules add encoder features to the
generator at 32, 64, 128 and 256 pixels, scaled by the fidelity weight ``w``: ``w = 0`` trusts
the codebook (quality), ``w = 1`` the input (fidelity).

Inference as in the official ``inference_codeformer.py``: the looked-up codes are first given the
mean and standard deviation of the encoder's features (AdaIN, ``adain=True``); fusion is skipped
entirely when ``w = 0``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from baselines.networks.gfpgan import sft_branch
from baselines.networks.vqgan import Codebook, Encoder, Generator, ResBlock

IMAGE_SIZE = 512
CODE_DIM = 256
GRID = 16
CHANNELS = {16: 512, 32: 256, 64: 256, 128: 128, 256: 128, 512: 64}
ENCODER_TAPS = {256: 5, 128: 8, 64: 11, 32: 14}  # after the second residual block of a level
GENERATOR_TAPS = {32: 9, 64: 12, 128: 15, 256: 18}  # after the first residual block of a level
ADAIN_EPS = 1e-5


def adaptive_instance_norm(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Give ``content`` the per-channel mean and (unbiased) standard deviation of ``style``."""

    def statistics(feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = feat.flatten(2)
        std = (flat.var(dim=2) + ADAIN_EPS).sqrt()
        return flat.mean(dim=2)[..., None, None], std[..., None, None]

    content_mean, content_std = statistics(content)
    style_mean, style_std = statistics(style)
    return (content - content_mean) / content_std * style_std + style_mean


class TransformerSALayer(nn.Module):
    """Pre-norm transformer layer: self-attention (position added to queries and keys), GELU MLP."""

    def __init__(self, embed_dim: int, n_head: int, dim_mlp: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(embed_dim, n_head, dropout=0.0)
        self.linear1 = nn.Linear(embed_dim, dim_mlp)
        self.linear2 = nn.Linear(dim_mlp, embed_dim)
        self.norm1 = nn.LayerNorm(embed_dim)
        self.norm2 = nn.LayerNorm(embed_dim)

    def forward(self, tokens: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        """``tokens`` and ``position`` are sequence-first, ``L x N x E``."""
        normed = self.norm1(tokens)
        query = normed + position
        attended = self.self_attn(query, query, normed, need_weights=False)[0]
        tokens = tokens + attended
        return tokens + self.linear2(F.gelu(self.linear1(self.norm2(tokens))))


class FuseSFTBlock(nn.Module):
    """Controllable Feature Transformation: ``dec + w * (dec * scale + shift)``.

    ``scale`` and ``shift`` are predicted from the encoder and generator features together.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.encode_enc = ResBlock(2 * channels, channels)
        self.scale = sft_branch(channels)
        self.shift = sft_branch(channels)

    def forward(self, enc_feat: torch.Tensor, dec_feat: torch.Tensor, w: float) -> torch.Tensor:
        joint = self.encode_enc(torch.cat([enc_feat, dec_feat], dim=1))
        return dec_feat + w * (dec_feat * self.scale(joint) + self.shift(joint))


class CodeFormer(nn.Module):
    """CodeFormer with the released configuration (512 px, 1024 codes, 9 layers, 8 heads).

    Args:
        dim_embd: Transformer width.
        n_head: Attention heads.
        n_layers: Transformer layers.
        codebook_size: Codebook entries.
        connect_list: Sizes at which encoder features are fused into the generator.

    Example:
        >>> net = CodeFormer().eval()  # doctest: +SKIP
        >>> out = net(torch.zeros(1, 3, 512, 512), w=0.5)  # [-1, 1] in, about [-1, 1] out
    """

    def __init__(
        self,
        dim_embd: int = 512,
        n_head: int = 8,
        n_layers: int = 9,
        codebook_size: int = 1024,
        connect_list: tuple[int, ...] = (32, 64, 128, 256),
    ) -> None:
        super().__init__()
        layout: dict[str, Any] = dict(
            nf=64, emb_dim=CODE_DIM, ch_mult=(1, 2, 2, 4, 4, 8), res_blocks=2
        )
        self.encoder = Encoder(**layout, size=IMAGE_SIZE, attn_resolutions=(GRID,))
        self.quantize = Codebook(codebook_size, CODE_DIM)
        self.generator = Generator(**layout, size=IMAGE_SIZE, attn_resolutions=(GRID,))
        self.connect_list = connect_list
        self.position_emb = nn.Parameter(torch.zeros(GRID * GRID, dim_embd))
        self.feat_emb = nn.Linear(CODE_DIM, dim_embd)
        self.ft_layers = nn.Sequential(
            *(TransformerSALayer(dim_embd, n_head, dim_embd * 2) for _ in range(n_layers))
        )
        self.idx_pred_layer = nn.Sequential(
            nn.LayerNorm(dim_embd), nn.Linear(dim_embd, codebook_size, bias=False)
        )
        self.fuse_convs_dict = nn.ModuleDict(
            {str(size): FuseSFTBlock(CHANNELS[size]) for size in connect_list}
        )

    def predict_codes(self, lq_feat: torch.Tensor) -> torch.Tensor:
        """The codebook index of each of the 16x16 positions: ``N x 256`` integers."""
        tokens = self.feat_emb(lq_feat.flatten(2).permute(2, 0, 1))  # HW x N x E
        position = self.position_emb.unsqueeze(1).expand(-1, lq_feat.shape[0], -1)
        for layer in self.ft_layers:
            tokens = layer(tokens, position)
        logits = self.idx_pred_layer(tokens).permute(1, 0, 2)  # N x HW x codebook
        return torch.topk(F.softmax(logits, dim=2), 1, dim=2).indices.squeeze(2)

    def forward(self, x: torch.Tensor, w: float) -> torch.Tensor:
        """Restore ``N x 3 x 512 x 512`` faces in [-1, 1] with fidelity weight ``w`` in [0, 1]."""
        encoder_taps = {ENCODER_TAPS[size] for size in self.connect_list}
        skips = {}
        for index, block in enumerate(self.encoder.blocks):
            x = block(x)
            if index in encoder_taps:
                skips[x.shape[-1]] = x
        lq_feat = x
        codes = self.quantize.lookup(self.predict_codes(lq_feat), GRID, GRID)
        x = adaptive_instance_norm(codes, lq_feat)
        generator_taps = {GENERATOR_TAPS[size] for size in self.connect_list}
        for index, block in enumerate(self.generator.blocks):
            x = block(x)
            if w > 0 and index in generator_taps:
                x = self.fuse_convs_dict[str(x.shape[-1])](skips[x.shape[-1]], x, w)
        return x
