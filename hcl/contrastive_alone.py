"""L_HCL alone (notebook 04): what does the region-wise contrastive loss do to an image when nothing
else pulls? The pixels of H and the MLP are optimized under L_HCL only, and the foreground's texture
and error are measured before and after."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hcl.config import LossConfig
from hcl.contrastive import HCLLoss
from hcl.metrics import fmse


def foreground_texture(image: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean |Laplacian| (4-neighbour, 0–255 scale, channels averaged) over the foreground's interior
    (the mask eroded by one pixel, so the boundary's step does not count). image 3×H×W, mask 1×H×W."""
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    response = F.conv2d(image[:, None].float() * 255, kernel.view(1, 1, 3, 3)).abs()  # 3×1×(H−2)×(W−2)
    interior = (-F.max_pool2d(-mask[None].float(), 3, 1, 0))[0, 0] >= 0.5
    return float(response[:, 0][:, interior].mean()) if interior.any() else 0.0


def hcl_alone(composite: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, reading: str, steps: int = 100,
              k: int = LossConfig.k, tau: float = LossConfig.tau, factor: int = LossConfig.factor, lr: float = 1e-2, seed: int = 0) -> dict:
    """Optimize the pixels of H (starting at the composite) and the MLP under L_HCL alone, Adam
    (pixels lr ``lr``, MLP 1e-3). Returns the image after, the foreground texture ratio after/before,
    the foreground error (fMSE) before/after, and the mean foreground–background embedding similarity
    before/after measured with the final MLP. Inputs 3×H×W / 1×H×W."""
    torch.manual_seed(seed)
    batch = [t[None].float() for t in (composite, target, mask)]
    loss_fn = HCLLoss(k=k, tau=tau, factor=factor, reading=reading)
    image = batch[0].clone().requires_grad_(True)
    optimizer = torch.optim.Adam([{"params": [image], "lr": lr},
                                  {"params": [p for p in loss_fn.parameters() if p.requires_grad], "lr": 1e-3}])
    history = []
    for step in range(steps):
        loss, _ = loss_fn(image.clamp(0, 1), batch[1], batch[2], torch.Generator().manual_seed(step),
                          composite=batch[0])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_fn.update_keys()
        history.append(float(loss.detach()))
    after = image.detach().clamp(0, 1)
    after = batch[0] + batch[2] * (after - batch[0])  # only the foreground was optimized

    def similarity(picture):
        with torch.no_grad():
            _, info = loss_fn(picture, batch[1], batch[2], torch.Generator().manual_seed(12345), composite=batch[0])
        return float((info["negatives"][0] @ info["positives"][0].T).mean())

    return {
        "image": after[0], "history": history,
        "texture_before": foreground_texture(composite, mask), "texture_after": foreground_texture(after[0], mask),
        "texture_target": foreground_texture(target, mask),
        "fmse_before": float(fmse(batch[0], batch[1], batch[2])), "fmse_after": float(fmse(after, batch[1], batch[2])),
        "similarity_before": similarity(batch[0]), "similarity_after": similarity(after),
    }
