"""hcl: Image Harmonization with Region-wise Contrastive Learning, rebuilt piece by piece.

One module per idea of the paper:

- :mod:`hcl.data`         iHarmony4 loading, the offline mini-iHarmony4, tree checks (section IV-B)
- :mod:`hcl.stats`        masked mean / std shared by fusion, losses and metrics
- :mod:`hcl.blocks`       residual blocks of the ResUNet
- :mod:`hcl.attention`    S2AM spatial-separated attention
- :mod:`hcl.fusion`       external style fusion, Eqs. (1)-(7), and the AdaIN / RAIN variants
- :mod:`hcl.model`        the ResUNet generator and ``build('paper' | 'tiny')`` (section III-A)
- :mod:`hcl.contrastive`  region-wise sampling and InfoNCE, Eqs. (8)-(12) (section III-B)
- :mod:`hcl.losses`       L1, L_pixel and L_all, Eq. (13) (section III-C)
- :mod:`hcl.train`        the trainer (section IV-A)
- :mod:`hcl.metrics`      MSE, PSNR, fMSE, SSIM, fSSIM (section IV-C)
- :mod:`hcl.evaluate`     tables in the form of Tables II-IV
- :mod:`hcl.harmonize`    any-resolution inference on a user's own image
- :mod:`hcl.viz`          pure plotting functions behind the notebooks' widgets
- :mod:`hcl.cli`          ``python -m hcl`` / ``hcl``
"""

__version__ = "0.1.0"
