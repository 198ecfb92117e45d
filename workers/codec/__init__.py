"""The 12 Hz codec decoder: codes -> 24 kHz PCM, stateful, incremental and batched (see decoder.py)."""

from workers.codec.decoder import CodecDecoder, CodecState

__all__ = ["CodecDecoder", "CodecState"]
