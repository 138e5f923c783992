"""Metrics that follow the published conventions of face restoration, each a registered plugin.

========  =============  ===================================================================
name      kind           convention (recorded in ``config()`` with every value)
========  =============  ===================================================================
psnr      paired         8-bit images, float64, RGB (tag ``y``: BT.601 luma), crop border
ssim      paired         11x11 Gaussian window, sigma 1.5, per channel, valid region
lpips     paired         ``lpips`` package v0.1, AlexNet (tag ``vgg``), inputs scaled to [-1, 1]
st_lpips  paired         shift-tolerant LPIPS (``stlpips-pytorch``), a different metric
dists     paired         DISTS, VGG-16 + the published alpha / beta, images at full size
fid, kid  set            Inception pool3 (TF port), ``legacy`` bilinear or ``clean`` PIL bicubic
ids, deg  paired         face-embedding cosine similarity / angle in degrees, output vs GT
ids_input paired         the same cosine, output vs the LQ input (unpaired real sets)
lmd       paired         dlib 68-point landmark distance, normalised to a 512 face
niqe      no-reference   NIQE with the published pristine model (MATLAB ``modelparameters``)
========  =============  ===================================================================

Module top levels import neither torch nor OpenCV; networks load in ``Metric.load`` and are
cached per process (see :mod:`bench.metrics.common`). Documentation: ``docs/metrics.md``.
"""
