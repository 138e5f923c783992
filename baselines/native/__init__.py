"""Restorers running native re-implementations of published networks on their official weights.

``spar`` (SPARNetHD, DR2's enhancer), ``gfpgan`` (GFPGAN v1.4) and ``codeformer`` (CodeFormer).
Module top levels import no torch; the networks are built in ``load()``.
"""
