"""DR2 analysis: when do degradations become invariant under diffusion, and which N, tau, omega.

DR2 assumes that for t above some tau the diffused clean image and the diffused degraded image
have nearly the same distribution, at least after the low-pass Phi_N, and that at omega the
degraded input can stand in for the clean one. These modules measure that premise:

- :mod:`dr2.analysis.distances`: closed-form and Monte-Carlo expected distances between diffused
  images, relative to the noise;
- :mod:`dr2.analysis.features` and :mod:`dr2.analysis.probe`: set-level distances (a linear
  probe's held-out accuracy, MMD) on spectral or Inception features;
- :mod:`dr2.analysis.invariance`: the experiment over chains, severities, steps and bands;
- :mod:`dr2.analysis.embedding` and :mod:`dr2.analysis.plots`: the figures;
- :mod:`dr2.analysis.suggest`: (N, tau, omega) for a set of degraded faces, with the reasoning;
- :mod:`dr2.analysis.sweep`: a run config over a grid of N and tau for the grid runner.
"""
