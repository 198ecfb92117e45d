"""Developer tools: random-weight checkpoint maker (`python -m tools.make_checkpoint`).

Nothing here is imported by the serving path; tests and benchmarks use it to build checkpoints in the official
Qwen3-TTS layout without downloading real weights.
"""
