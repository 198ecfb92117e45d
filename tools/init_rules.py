"""How the random checkpoints are initialised, in one place.

The goal is a good parity target, not a realistic model: every part of the network must visibly influence the
output (so an engine that drops a bias, swaps two norms or mis-windows attention fails the comparison), and
activations must stay at unit scale (so the output is well-conditioned and fp32 rounding differences between
two correct implementations stay ~1e-6 instead of being amplified).

* Matmul and conv weights: N(0, gain/sqrt(fan_in)), variance-preserving. HF's default N(0, 0.02) and PyTorch's
  U(+-1/sqrt(fan_in)) both shrink the signal at every layer; through the codec's ~30 layers that leaves biases
  and SnakeBeta offsets dominating: audio rms ~0.17, but only ~0.003 of it depends on the codes.
* Embeddings N(0, 1); norm weights U(0.9, 1.1) (around 1, but a swapped or ignored norm is visible).
* Talker/code-predictor biases: PyTorch's default U(+-1/sqrt(fan_in)). Codec biases: N(0, 0.02).
* Codec: codebooks N(0, 1) divided by a random positive cluster usage (a decoder that forgets the division is
  visible); each residual-quantizer output projection scaled by 1/sqrt(#codebooks) so the quantized latent
  stays ~unit; residual-unit output convs at gain 0.3 so 12 residual units do not blow the signal up; the
  final conv at gain 0.08, which puts the decoded audio at rms ~0.2 with essentially no samples at the +-1
  clamp; SnakeBeta log-parameters N(0, 0.1); layer scales and ConvNeXt gammas U(0.05, 0.2) (the released init,
  0.01 and 1e-6, would make the transformer and ConvNeXt blocks nearly invisible).
* Mimi encoder: the same variance-preserving rule; codebooks N(0, 0.25), the scale of the residual they
  quantise for speech-level input (rms ~0.2), so the codes depend on the audio instead of all being one entry
  (a 3 s synthetic voice gives ~30 distinct codes in each of the 16 codebooks over its 38 frames).
* Speaker encoder (Base): PyTorch's default conv init U(+-1/sqrt(fan_in)) for weights and biases (HF's N(0, 0.02)
  leaves the x-vector near zero), the final 1x1 conv at gain 3 so the x-vector, which the talker adds to its
  N(0, 1) codec embeddings, is ~unit scale (std ~0.9). About 10% of it depends on the audio (different
  synthetic voices differ by std ~0.05-0.1): the log-mel input has a large common offset, so the bias-like
  common part dominates with any of the usual inits.
"""

from __future__ import annotations

from tools.tensor_spec import Init, Normal, Uniform, torch_default

EMBEDDING = Normal(1.0)
NORM_WEIGHT = Uniform(0.9, 1.1)
NORM_BIAS = Normal(0.02)
CODEC_BIAS = Normal(0.02)
LAYER_SCALE = Uniform(0.05, 0.2)
SNAKE_LOG_PARAM = Normal(0.1)
CODEBOOK = Normal(1.0)
MIMI_CODEBOOK = Normal(0.25)
CLUSTER_USAGE = Uniform(0.5, 1.5)
RESIDUAL_UNIT_GAIN = 0.3
CODEC_OUTPUT_GAIN = 0.08
SPEAKER_ENCODER_FC_GAIN = 3.0


def speaker_encoder_conv(fan_in: int, gain: float = 1.0) -> tuple[Init, Init]:
    """(weight, bias) init of a speaker-encoder conv: PyTorch's default U(+-1/sqrt(fan_in)), times `gain`."""
    w = torch_default(fan_in)
    return Uniform(w.low * gain, w.high * gain), torch_default(fan_in)
