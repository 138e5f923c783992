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
ids, deg  paired         face-embedding cosine / angle, output vs GT; the tag names the backend:
                         ``dlib``, ``sface``, ``arcface``, ``vqfr`` (VQFR's Deg.), ``adaface``
ids_input paired         the same cosine, output vs the LQ input (unpaired real sets)
lmd       paired         landmark distance: ``lmd.dlib`` (68 points), ``lmd.fan`` (VQFR's LMD)
niqe      no-reference   NIQE with the published pristine model (MATLAB ``modelparameters``)
pyiqa     per metric     pyiqa 0.1.16's metrics (``pyiqa.musiq``, ...), files never downloaded
========  =============  ===================================================================

Module top levels import neither torch nor OpenCV; networks load in ``Metric.load`` and are
cached per process (see :mod:`metrics.common`). Documentation: ``docs/metrics.md``.
"""
