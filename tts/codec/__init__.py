"""The 12 Hz codec decoder: codes -> 24 kHz PCM, stateful, incremental and batched (see decoder.py)."""

from tts.codec.decoder import CodecDecoder, CodecState

__all__ = ["CodecDecoder", "CodecState"]
