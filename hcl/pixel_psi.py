"""Style fusion with ψ reading the map (Eqs. 4–7 as printed, ``psi_input='map'``), forward and backward
written out by hand.

Per region r (the foreground with weight m, the background with 1 − m; AdaIN has one region, weight 1)
the normalization is a per-channel affine map of the decoder map D, and ψ an affine map of its result
whose scale and bias are 1×1 convolutions of that result:

    x_r = a_r·D + c_r                     (4), (5): a = 1/σ, c = −μ/σ
    [s_r; b_r] = W_r·x_r + β_r            f_s, f_b: one 1×1 convolution with 2C outputs
    y_r = (1 + s_r)·x_r + b_r             (6), (7)
    D̂ = m·y_F + (1 − m)·y_B               (+ D with ``residual``)

Every step is a pass over a B×C×H×W map with little arithmetic per value, so at the fine stages the cost
is memory traffic.
Autograd would keep each intermediate and run a dozen more passes in the backward; here the forward
keeps its inputs and 1 + s_r, and the backward recomputes x_r and reads each map a few times:

    ∂y/∂b = G_r,  ∂y/∂s = G_r·x_r =: H_r           (G_r = m_r·G)
    ∂x_r = (1 + s_r)·G_r + W_rᵀ·[H_r; G_r]
    ∂W_r = Σ_pixels [H_r; G_r]·x_rᵀ,   ∂β_r = Σ_pixels [H_r; G_r]
    ∂D = Σ_r a_r·∂x_r (+ G),   ∂a_r = Σ_pixels ∂x_r·D,   ∂c_r = Σ_pixels ∂x_r

The gradients of a_r and c_r flow on through autograd into the statistics they came from (of D and
of the encoder map E). The mask gets no gradient (it is data). The tests check the values and the
gradients against autograd through :meth:`hcl.fusion.StyleFusion.explicit`, the equations op by op.
"""

from __future__ import annotations

import torch


def _coefficients(x_scale: torch.Tensor, x_shift: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
    """ψ's 1×1 convolution of x = a·D + c folded onto D: per-sample weight W·diag(a) (B×2C×C) and bias
    W·c + β (B×2C×1), with 1 added to the scale rows so the product gives 1 + s directly."""
    channels = x_scale.shape[1]
    folded_weight = weight[None] * x_scale[:, None, :]
    folded_bias = (torch.einsum("oc,bc->bo", weight, x_shift) + bias)[..., None]
    folded_bias[:, :channels] += 1
    return folded_weight, folded_bias


class _FuseRegions(torch.autograd.Function):
    @staticmethod
    def forward(ctx, decoder, weights, scales, shifts, residual, *psi):
        psi_weights, psi_biases = psi[:len(psi) // 2], psi[len(psi) // 2:]
        batch, channels = decoder.shape[:2]
        flat = decoder.reshape(batch, channels, -1)
        outputs, one_plus_s = [], []
        for a, c, weight, bias in zip(scales.unbind(1), shifts.unbind(1), psi_weights, psi_biases):
            folded_weight, folded_bias = _coefficients(a, c, weight, bias)
            scale_and_bias = torch.baddbmm(folded_bias, folded_weight, flat)  # [1 + s; b]
            x = torch.addcmul(c[..., None], flat, a[..., None])
            one_plus_s.append(scale_and_bias[:, :channels])
            outputs.append(scale_and_bias[:, channels:].addcmul_(one_plus_s[-1], x))  # y = (1 + s)·x + b
        fused = outputs[0] if len(outputs) == 1 else torch.lerp(outputs[1], outputs[0], weights.reshape(batch, 1, -1))
        if residual:
            fused = fused.add_(flat)
        ctx.save_for_backward(decoder, weights, scales, shifts, *psi_weights)
        ctx.residual, ctx.regions, ctx.one_plus_s = residual, len(psi_weights), one_plus_s  # kept: no recompute
        return fused.view_as(decoder)

    @staticmethod
    def backward(ctx, grad):
        decoder, weights, scales, shifts, *psi_weights = ctx.saved_tensors
        batch, channels = decoder.shape[:2]
        flat = decoder.reshape(batch, channels, -1)
        grad = grad.reshape(batch, channels, -1)
        grad_decoder = grad.clone() if ctx.residual else None
        grad_scales, grad_shifts, grad_weights, grad_biases = [], [], [], []
        for region, (a, c, weight) in enumerate(zip(scales.unbind(1), shifts.unbind(1), psi_weights)):
            one_plus_s = ctx.one_plus_s[region]
            x = torch.addcmul(c[..., None], flat, a[..., None])
            upstream = torch.empty(batch, 2 * channels, flat.shape[-1], dtype=flat.dtype, device=flat.device)
            grad_y, grad_s = upstream[:, channels:], upstream[:, :channels]  # [H; G] in the rows of [s; b]
            if ctx.regions == 1:
                grad_y.copy_(grad)
            elif region == 0:
                torch.mul(grad, weights.reshape(batch, 1, -1), out=grad_y)
            else:
                torch.addcmul(grad, grad, weights.reshape(batch, 1, -1), value=-1, out=grad_y)
            torch.mul(grad_y, x, out=grad_s)
            # a batch of contiguous copies of Wᵀ: a stride-0 (expanded) batch makes bmm several times slower
            transposed = weight.t().contiguous()[None].repeat(batch, 1, 1)
            grad_x = torch.baddbmm(one_plus_s * grad_y, transposed, upstream)
            grad_weights.append(torch.bmm(upstream, x.transpose(1, 2)).sum(0))
            grad_biases.append(upstream.sum((0, 2)))
            if grad_decoder is None:
                grad_decoder = grad_x * a[..., None]
            else:
                grad_decoder.addcmul_(grad_x, a[..., None])
            grad_scales.append(torch.bmm(grad_x.view(batch * channels, 1, -1), flat.reshape(batch * channels, -1, 1))
                               .view(batch, channels))
            grad_shifts.append(grad_x.sum(-1))
        return (grad_decoder.view_as(decoder), None, torch.stack(grad_scales, 1), torch.stack(grad_shifts, 1), None,
                *grad_weights, *grad_biases)


def fuse_regions(decoder: torch.Tensor, weights: torch.Tensor, scales: torch.Tensor, shifts: torch.Tensor,
                 psi_weights: list[torch.Tensor], psi_biases: list[torch.Tensor], residual: bool) -> torch.Tensor:
    """D̂ (or D + D̂) of the module docstring.

    decoder B×C×H×W; weights B×1×H×W, the foreground's share m (ignored with one region); scales and
    shifts B×R×C, the normalizations' a_r and c_r (foreground first); psi_weights R tensors 2C×C (f_s's
    rows, then f_b's) and psi_biases R tensors 2C, the 1×1 convolutions of ψ_F (and ψ_B)."""
    dtype = decoder.dtype
    psi = [p.to(dtype) for p in (*psi_weights, *psi_biases)]
    return _FuseRegions.apply(decoder, weights.to(dtype), scales.to(dtype), shifts.to(dtype), residual, *psi)
