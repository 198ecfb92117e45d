"""Write a `.safetensors` file tensor by tensor.

`safetensors.torch.save_file` needs every tensor in memory at once (about 3.6 GB for the real-dimension
talker). The format is simple enough to stream: an 8-byte little-endian header length, a JSON header with each
tensor's dtype, shape and byte range, then the raw little-endian data in header order.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch

from tools.tensor_spec import TensorSpec

_F32_BYTES = 4


def write_safetensors(
    path: Path,
    specs: Sequence[TensorSpec],
    values: Callable[[TensorSpec], Iterable[torch.Tensor]],
    metadata: dict[str, str] | None = None,
) -> int:
    """Stream float32 tensors into `path` (atomically, via a temporary file); returns the file size.

    `values(spec)` yields the tensor's data as flat float32 slices whose total length is `spec.numel`.
    """
    if sys.byteorder != "little":
        raise RuntimeError("safetensors data is little-endian; this writer copies native float32 bytes")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("duplicate tensor names")
    header: dict[str, object] = {"__metadata__": metadata or {"format": "pt"}}
    offset = 0
    for spec in specs:
        end = offset + spec.numel * _F32_BYTES
        header[spec.name] = {"dtype": "F32", "shape": list(spec.shape), "data_offsets": [offset, end]}
        offset = end
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the data section starts 8-byte aligned
    tmp = path.with_name(path.name + ".partial")
    try:
        with tmp.open("wb") as f:
            f.write(len(raw).to_bytes(8, "little"))
            f.write(raw)
            for spec in specs:
                written = 0
                for chunk in values(spec):
                    data = chunk.detach().to(torch.float32).contiguous().numpy()
                    f.write(memoryview(data).cast("B"))
                    written += data.size
                if written != spec.numel:
                    raise ValueError(f"{spec.name}: produced {written} values, expected {spec.numel}")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path.stat().st_size
