"""Classical restorers: resampling, denoising and deblurring filters; offline, no weights.

==================  ==============================================================================
restorer            what it does
==================  ==============================================================================
``identity``        bicubic resampling to the output size (the input itself at the input size)
``lanczos``         Lanczos-3 resampling to the output size
``bilateral``       OpenCV bilateral filter (edge-preserving smoothing)
``nlmeans``         OpenCV non-local means denoising (colour)
``richardson_lucy`` Richardson-Lucy deconvolution of a Gaussian blur
``wiener``          Wiener deconvolution of a Gaussian blur
``unsharp``         unsharp masking
==================  ==============================================================================

All are deterministic and work on each image alone; parameters are documented on each class and
in ``docs/baselines.md``.
"""
