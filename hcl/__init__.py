"""hcl: Image Harmonization with Region-wise Contrastive Learning, rebuilt piece by piece.

One module per idea of the paper:

- :mod:`hcl.config`            one typed run configuration, the one source of every default; CLI flags derive from it
- :mod:`hcl.tensors`           the one image and mask resize, uint8 ↔ tensor (below both the model and the data)
- :mod:`hcl.files`             atomic writes
- :mod:`hcl.data`              iHarmony4 loading, the offline mini-iHarmony4, tree checks (section IV-B)
- :mod:`hcl.stats`             masked mean / std and the Gaussian taps shared by fusion, losses and metrics
- :mod:`hcl.blocks`            residual blocks of the ResUNet
- :mod:`hcl.attention`         S2AM spatial-separated attention (Cun & Pun's placement and ours)
- :mod:`hcl.fusion`            external style fusion, Eqs. (1)-(7), and the AdaIN / RAIN variants
- :mod:`hcl.colour_transform`  our output head: one colour transform per image, from a boundary fit (not in the paper)
- :mod:`hcl.model`             the generator, ``build('paper' | 'tiny' | 'demo')`` and ``net.harmonize`` at any size (III-A, Table IV)
- :mod:`hcl.ensemble`          several networks trained alike, their outputs averaged (the shipped demo; not in the paper)
- :mod:`hcl.contrastive`       region-wise sampling and InfoNCE, Eqs. (8)-(12), under five readings (section III-B)
- :mod:`hcl.contrastive_alone` L_HCL alone on an image's pixels: what the loss does when nothing else pulls
- :mod:`hcl.losses`            L1, L_pixel and L_all, Eq. (13) (section III-C)
- :mod:`hcl.runtime`           device and torchrun process group
- :mod:`hcl.rundir`            a run's folder: config, checkpoints, log, summary
- :mod:`hcl.train`             ``train_step``, ``build_training`` and the trainer around them (section IV-A)
- :mod:`hcl.runcache`          training runs cached by configuration and code version
- :mod:`hcl.ablation`          the Table VI ablation (``hcl ablate``)
- :mod:`hcl.metrics`           MSE, PSNR, fMSE, SSIM, fSSIM (section IV-C)
- :mod:`hcl.evaluate`          tables in the form of Tables II-IV
- :mod:`hcl.inference`         ``load_harmonizer``: PIL, arrays or tensors in, the same kind out
- :mod:`hcl.harmonize`         ``hcl harmonize`` on a user's files
- :mod:`hcl.viz`               pure plotting functions behind the notebooks' widgets
- :mod:`hcl.tutorial`          small helpers the notebooks share (compare, widgets with a static fallback)
- :mod:`hcl.cli`               ``python -m hcl`` / ``hcl``
"""

__version__ = "0.2.0"
