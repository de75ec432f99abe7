"""Studies: comparisons of methods on a task, with their figures.

* :mod:`~neurosim.studies.denoise` / :mod:`~neurosim.studies.denoise_conv` -- patch and
  convolutional sparse-code denoising (cold LCA, WARP, FISTA), PSNR at a step budget;
* :mod:`~neurosim.studies.relu` -- one-step ReLU codes against iterated coding.
"""
