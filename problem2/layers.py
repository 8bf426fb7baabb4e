"""Faster kernels for the stock layers of :mod:`problem2.model`, swapped in by one call::

    model = fast_layers(VAE())

Each replacement subclasses the stock layer and computes the same function (equal up to float
rounding) faster on the CPU; it keeps the layer's parameters, so the state-dict keys and checkpoints
are those of the assignment's architecture. A model without the call runs the stock kernels (the
reference the tests and bench/ compare with)."""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn


class _ExpELU(torch.autograd.Function):
    """ELU(x) = x for x > 0, exp(x) - 1 otherwise; backward: dy/dx = 1 for x > 0, exp(x) = y + 1
    otherwise."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        # exp(min(x, 0)) - 1 <= 0 < x exactly when x > 0
        y = torch.maximum(torch.exp(x.clamp(max=0)).sub_(1), x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        return grad * (y.clamp(max=0) + 1)


class ExpELU(nn.ELU):
    """nn.ELU (alpha = 1) through exp instead of expm1: torch's CPU build has no vectorised expm1,
    so the stock ELU is a large share of a VAE training step (docs/performance.md). exp(x) - 1
    differs from expm1(x) by < 6e-8 in absolute value."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.alpha != 1.0 or self.inplace:
            return super().forward(x)
        return _ExpELU.apply(x)


class FastConv2d(nn.Conv2d):
    """nn.Conv2d, computed as matrix products for the three shapes of the VAE that oneDNN runs
    slowly; any other shape runs the stock kernel.

    * 1x1 input, padding kernel - 1 (decoder, first layer): out[o, i, j] = b[o] + sum_c W[o, c,
      k-1-i, k-1-j] h[c], one matmul that skips the multiply-adds on the zero padding (24 of 25 for
      a 5x5 kernel).
    * kernel covering the whole unpadded input (encoder, 5x5 on 5x5): out[o] = b[o] + sum_{c,i,j}
      W[o, c, i, j] h[c, i, j], one matmul.
    * one output channel (decoder, last layer): one matmul projects the C input channels onto each
      kernel tap, P[k] = sum_c W[0, c, k] x[c], and the output sums the padded P[k] shifted by tap
      k.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        plain = (
            self.stride != (1, 1)
            or self.dilation != (1, 1)
            or self.groups != 1
            or self.padding_mode != "zeros"
            or isinstance(self.padding, str)
        )
        kh, kw = self.kernel_size
        if plain:
            return super().forward(x)
        if tuple(x.shape[-2:]) == (1, 1) and self.padding == (kh - 1, kw - 1):
            return self._on_1x1(x)
        if tuple(x.shape[-2:]) == self.kernel_size and self.padding == (0, 0):
            return self._over_whole_input(x)
        if self.out_channels == 1:
            return self._to_one_channel(x)
        return super().forward(x)

    def _on_1x1(self, h: torch.Tensor) -> torch.Tensor:
        n, c = h.shape[:2]
        kh, kw = self.kernel_size
        w = self.weight.flip(2, 3).permute(0, 2, 3, 1).reshape(-1, c)  # (O * kh * kw, C)
        out = F.linear(h.reshape(n, c), w).view(n, self.out_channels, kh, kw)
        return out + self.bias.view(1, -1, 1, 1)

    def _over_whole_input(self, h: torch.Tensor) -> torch.Tensor:
        out = F.linear(h.flatten(1), self.weight.flatten(1), self.bias)
        return out.view(h.shape[0], -1, 1, 1)

    def _to_one_channel(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        # (n, taps, C), no copy
        w_taps = self.weight.view(c, kh * kw).T.unsqueeze(0).expand(n, kh * kw, c)
        taps = torch.bmm(w_taps, x.reshape(n, c, h * w)).view(n, kh * kw, h, w)
        taps = F.pad(taps, (pw, pw, ph, ph))
        ho, wo = h + 2 * ph - kh + 1, w + 2 * pw - kw + 1
        out = sum(taps[:, i * kw + j, i : i + ho, j : j + wo] for i in range(kh) for j in range(kw))
        return (out + self.bias).unsqueeze(1)


@lru_cache(maxsize=None)
def bilinear_matrix(
    n_in: int, n_out: int, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """(n_out, n_in) matrix of 1-D linear interpolation with align_corners=True. Cached, so
    read-only; made outside inference mode even when first asked for inside it, so that a later
    training step may save it for backward."""
    with torch.inference_mode(False):
        pos = torch.arange(n_out, dtype=torch.float64) * (n_in - 1) / max(n_out - 1, 1)
        lo = pos.floor().long().clamp(max=n_in - 1)
        hi = (lo + 1).clamp(max=n_in - 1)
        frac = pos - lo
        a = torch.zeros(n_out, n_in, dtype=torch.float64)
        a[torch.arange(n_out), lo] += 1 - frac
        a[torch.arange(n_out), hi] += frac
        return a.to(dtype=dtype, device=device)


@lru_cache(maxsize=None)
def bilinear_kron(
    h: int, w: int, scale: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """(h * w * scale^2, h * w) matrix of 2-D bilinear upsampling (align_corners=True) of a
    flattened h x w map: the Kronecker product of the row and column matrices. Cached and made
    outside inference mode, as above."""
    with torch.inference_mode(False):
        return torch.kron(
            bilinear_matrix(h, h * scale, dtype, device),
            bilinear_matrix(w, w * scale, dtype, device),
        )


class MatmulUpsamplingBilinear2d(nn.UpsamplingBilinear2d):
    """nn.UpsamplingBilinear2d (align_corners=True) as matrix products, the same linear map (equal
    up to float rounding): a small map (at most 64 pixels) times the Kronecker product of the row
    and column interpolation matrices, one matmul; a larger one as A_h x A_w^T, two small matmuls.
    Matmuls are the CPU's fastest kernels; the interpolation kernel is not
    (bench/bench_importance_sampling.py)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        s = int(self.scale_factor)
        if h * w > 64:
            return (
                bilinear_matrix(h, h * s, x.dtype, x.device)
                @ x
                @ bilinear_matrix(w, w * s, x.dtype, x.device).T
            )
        return (x.reshape(-1, h * w) @ bilinear_kron(h, w, s, x.dtype, x.device).T).view(
            *x.shape[:-2], h * s, w * s
        )


# stock layer -> its faster equivalent; a subclass, so parameters and state-dict keys stay the stock
# ones
FAST_LAYERS = {
    nn.Conv2d: FastConv2d,
    nn.ELU: ExpELU,
    nn.UpsamplingBilinear2d: MatmulUpsamplingBilinear2d,
}


def fast_layers(model: nn.Module) -> nn.Module:
    """Swap every stock layer of ``model`` that has a faster equivalent (:data:`FAST_LAYERS`) for
    it, in place: the same parameters and buffers, another forward. Returns the model."""
    for module in model.modules():
        if type(module) in FAST_LAYERS:
            module.__class__ = FAST_LAYERS[type(module)]
    return model
