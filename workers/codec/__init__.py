"""The 12 Hz codec decoder: codes -> 24 kHz PCM, stateful, incremental and batched (see decoder.py)."""

from workers.codec.checkpoint import CheckpointError
from workers.codec.decoder import CodecDecoder, CodecState

__all__ = ["CheckpointError", "CodecDecoder", "CodecState"]
