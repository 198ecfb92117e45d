"""Stateful causal building blocks of the 12 Hz codec decoder.

Every layer after the transformer is causal: the official code zero-pads each convolution on the left and trims
each transposed convolution on the right. A stream decoded piecewise therefore only needs, per layer, the bit of
its past that the padding would otherwise have supplied. Each module here takes that past explicitly as state
tensors (batch first, one row per stream slot), reads it, and overwrites it in place with the past the *next*
call needs. A freshly zeroed state is exactly the official zero padding, so a new stream needs no special case.

Protocol shared by the stateful modules: `state_shapes(batch)` lists the shapes of the state tensors the module
consumes, in order, and `forward(x, state)` takes a list of exactly those tensors. Composite modules hand
consecutive slices of their list to their children. Activations are channels-first `[batch, channels, time]`.

Convolutions may hold their weights in a narrower dtype than the activations (float16 on CPUs with AVX512-FP16,
see `CodecDecoder.use_float16_convolutions`): their input is cast to the weight dtype and their output back,
everything between them (SnakeBeta, norms, residual sums, the streaming state) stays in the activation dtype.
With equal dtypes the casts are no-ops and the arithmetic is unchanged.

Child module names (`conv`, `dwconv`, `block`, `act1`, ...) mirror the checkpoint keys so a strict state-dict
load works; `nn.Conv1d`/`nn.ConvTranspose1d`/`nn.Linear` are used only as parameter holders, the forward passes
call the functional ops on exactly the window each call needs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tts.model.gemv import Product, few_row_linear

Shape = tuple[int, ...]


# Below this many input channels a conv runs through F.conv1d (oneDNN's direct kernels win on the narrow,
# sample-heavy late stages); from it up, as one im2col GEMM with the batch folded into M (the wide, few-sample
# early stages are weight-bandwidth bound, and oneDNN/THNN handle batch items one at a time). Measured on a
# 2-core AVX-512 Xeon at T=1, GEMM vs conv1d: 768 channels B=4 3.4 vs 6.1 ms; 96 channels B=4 4.4 vs 3.1 ms.
GEMM_MIN_CHANNELS = 384


class CausalConv1d(nn.Module):
    """Stride-1 conv whose left zero padding ((k-1)*dilation samples) is replaced by the stream's history.

    State: the last (k-1)*dilation *inputs* of the previous call (the padding in the official code is applied
    to this conv's input, i.e. after any activation that precedes it).
    """

    def __init__(self, cin: int, cout: int, kernel_size: int, dilation: int = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel_size, dilation=dilation, groups=groups)
        self.context = (kernel_size - 1) * dilation
        self.gemm = groups == 1 and cin >= GEMM_MIN_CHANNELS
        self.product: Product | None = None  # see use_product

    def use_product(self, product: Product) -> None:
        """Run few-row im2col GEMMs through `product` (a compiled GEMV; CodecDecoder.use_compiled_gemv)."""
        self.product = product

    def state_shapes(self, batch: int) -> list[Shape]:
        return [(batch, self.conv.in_channels, self.context)] if self.context else []

    def forward(self, x: torch.Tensor, state: list[torch.Tensor]) -> torch.Tensor:
        c = self.conv
        if self.context:
            (hist,) = state
            x = torch.cat((hist, x), dim=-1)
            # Slicing the concatenation (not x) keeps this right when a call is shorter than the context.
            hist.copy_(x[..., x.shape[-1] - self.context :])
        dtype = x.dtype
        x = x.to(c.weight.dtype)
        if not self.gemm:
            return F.conv1d(x, c.weight, c.bias, dilation=c.dilation, groups=c.groups).to(dtype)
        cout, cin, k = c.weight.shape
        b, d = x.shape[0], c.dilation[0]
        # cols[b, t, ci, j] = x[b, ci, t + j*d]: the checkpoint's [Cout, Cin*k] weight applies as is.
        cols = x.unfold(2, self.context + 1, 1)[..., ::d].permute(0, 2, 1, 3)  # [B, n, Cin, k] (a view)
        n = cols.shape[1]
        y = few_row_linear(cols.reshape(b * n, cin * k), c.weight.view(cout, cin * k), c.bias, self.product)
        return y.to(dtype).view(b, n, cout).transpose(1, 2)


class CausalTransConv1d(nn.Module):
    """ConvTranspose1d(k, stride s) trimmed by k-s samples on the right, computed piecewise (k = s or k = 2s).

    Input sample j writes output samples [j*s, j*s + k). After the right trim, output block j (s samples) is
    input j's first s taps plus input j-1's last k-s taps ("spill"), plus the bias. One GEMM gives every tap of
    this call's inputs (`x^T @ W` with the checkpoint's [Cin, Cout*k] weight as is: no copy, no wasted MACs;
    it is also several times faster on CPU than the conv_transpose1d kernels for these few-sample shapes).
    The last input's spill is kept as state and added to the next call's first block.
    """

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int):
        super().__init__()
        if kernel_size not in (stride, 2 * stride):
            raise ValueError(f"causal transposed conv needs kernel = stride or 2*stride, got {kernel_size}, {stride}")
        self.conv = nn.ConvTranspose1d(cin, cout, kernel_size, stride=stride)
        self.stride = stride
        self.overlap = kernel_size - stride
        self.product: Product | None = None  # see use_product

    def use_product(self, product: Product) -> None:
        """Run few-row calls through `product` (a compiled GEMV, which reads the weight as [Cout*k, Cin]): the
        weight's storage is transposed to that layout once, and the checkpoint-shaped parameter becomes a view
        of it, so the GEMM path (`x^T @ W`, W now column-major) needs no second copy."""
        w = self.conv.weight
        cin, cout, k = w.shape
        self.conv.weight.data = w.view(cin, cout * k).t().contiguous().t().view(cin, cout, k)
        self.product = product

    def state_shapes(self, batch: int) -> list[Shape]:
        return [(batch, self.conv.out_channels, self.overlap)] if self.overlap else []

    def forward(self, x: torch.Tensor, state: list[torch.Tensor]) -> torch.Tensor:
        w, bias = self.conv.weight, self.conv.bias
        b, cin, n = x.shape
        cout, k, s, o = w.shape[1], w.shape[2], self.stride, self.overlap
        # Batch folded into the GEMM's rows so the weight is streamed once per call, not once per slot.
        rows = x.transpose(1, 2).reshape(b * n, cin).to(w.dtype)
        taps = few_row_linear(rows, w.view(cin, cout * k).t(), None, self.product).to(x.dtype).view(b, n, cout, k)
        blocks = taps[..., :s]  # [B, n, Cout, s]
        if o:
            (tail,) = state  # [B, Cout, s]: the previous call's last spill
            spill = taps[..., s:]
            prev = torch.cat((tail[:, None], spill[:, :-1]), dim=1)  # spill of input j-1, for every block j
            tail.copy_(spill[:, -1])
            blocks = blocks + prev
        return blocks.permute(0, 2, 1, 3).reshape(b, cout, n * s) + bias.to(x.dtype)[:, None]


class SnakeBeta(nn.Module):
    """x + 1/(exp(beta) + 1e-9) * sin(x * exp(alpha))^2, per channel; alpha and beta are stored as logs.

    The per-channel factors are recomputed per call (C elements: free) so they can never go stale after a load.
    The elementwise chain runs in place on one scratch tensor: fewer allocations, same rounding as the
    reference (multiplication order only commutes).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        freq = self.alpha.exp()[:, None]
        inv_mag = (1.0 / (self.beta.exp() + 1e-9))[:, None]
        y = torch.mul(x, freq).sin_()
        return y.mul_(y).mul_(inv_mag).add_(x)


class ConvNeXtBlock(nn.Module):
    """Causal depthwise k7 -> LayerNorm(1e-6) -> Linear 4x -> GELU(erf) -> Linear -> *gamma -> + input."""

    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = CausalConv1d(dim, dim, 7, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.ones(dim))

    def state_shapes(self, batch: int) -> list[Shape]:
        return self.dwconv.state_shapes(batch)

    def forward(self, x: torch.Tensor, state: list[torch.Tensor]) -> torch.Tensor:
        h = self.dwconv(x, state).transpose(1, 2)  # channels-last for the pointwise layers
        h = F.layer_norm(h, self.norm.normalized_shape, self.norm.weight, self.norm.bias, self.norm.eps)
        h = self.pwconv2(F.gelu(self.pwconv1(h)))
        return x + (self.gamma * h).transpose(1, 2)


class ResidualUnit(nn.Module):
    """SnakeBeta -> causal conv k7 (dilated) -> SnakeBeta -> conv k1 -> + input."""

    def __init__(self, dim: int, dilation: int):
        super().__init__()
        self.act1 = SnakeBeta(dim)
        self.conv1 = CausalConv1d(dim, dim, 7, dilation=dilation)
        self.act2 = SnakeBeta(dim)
        self.conv2 = CausalConv1d(dim, dim, 1)

    def state_shapes(self, batch: int) -> list[Shape]:
        return self.conv1.state_shapes(batch)

    def forward(self, x: torch.Tensor, state: list[torch.Tensor]) -> torch.Tensor:
        return self.conv2(self.act2(self.conv1(self.act1(x), state)), []) + x


def run_chain(modules, x: torch.Tensor, state: list[torch.Tensor]) -> torch.Tensor:
    """Apply stateful `modules` in order, giving each its consecutive slice of `state` (counts are static)."""
    i = 0
    for module in modules:
        n = len(module.state_shapes(1))
        x = module(x, state[i : i + n])
        i += n
    assert i == len(state), "state list does not match the modules"
    return x


class DecoderBlock(nn.Module):
    """`decoder.decoder.{1..4}`: SnakeBeta -> causal transposed conv (k=2r, s=r) -> 3 residual units (d=1,3,9)."""

    def __init__(self, cin: int, cout: int, rate: int):
        super().__init__()
        self.block = nn.ModuleList(
            [SnakeBeta(cin), CausalTransConv1d(cin, cout, 2 * rate, rate)]
            + [ResidualUnit(cout, d) for d in (1, 3, 9)]
        )

    def state_shapes(self, batch: int) -> list[Shape]:
        return [s for m in self.block[1:] for s in m.state_shapes(batch)]

    def forward(self, x: torch.Tensor, state: list[torch.Tensor]) -> torch.Tensor:
        return run_chain(self.block[1:], self.block[0](x), state)
