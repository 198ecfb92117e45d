"""Protocol buffers and gRPC stubs of the Qwen3-TTS server API (installed from protos/qwen3tts).

The `.proto` sources live next to their generated Python modules; regenerate with `make proto` and check
freshness with `make proto-check`.
"""
