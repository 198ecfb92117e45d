"""GetServiceInfo reports the precision each component runs in, as the worker chose it (no server needed)."""

from __future__ import annotations

from contract.capabilities import Capabilities
from server.doors.grpc_messages import service_info
from workers.protocol import PrecisionInfo


def _caps(tiny_ckpt) -> Capabilities:
    from tts.checkpoint.loading import load_config

    return load_config(tiny_ckpt).capabilities("tiny")


def test_service_info_carries_the_workers_precision(tiny_ckpt):
    info = service_info(_caps(tiny_ckpt), PrecisionInfo("int8", "int8", "float16", "auto", "AVX512 + AMX-BF16"))
    assert (info.talker_precision, info.code_predictor_precision, info.codec_precision) == ("int8", "int8", "float16")
    assert info.quantization == "auto" and info.compute_device == "AVX512 + AMX-BF16"


def test_without_a_worker_report_it_is_the_exact_default(tiny_ckpt):
    info = service_info(_caps(tiny_ckpt))
    assert (info.talker_precision, info.code_predictor_precision, info.codec_precision, info.quantization) == (
        "float32", "float32", "float32", "none")
