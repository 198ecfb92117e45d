"""`make run`: serve the default model over gRPC and HTTP (the OpenAI-compatible API and the playground), or the
built-in random checkpoint when the hub cannot be reached (and say plainly that its audio is noise).

    python -m tools.run_default --model Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice \
        --fallback .cache/checkpoints/tiny [server flags...]
"""

from __future__ import annotations

import argparse
import sys

from tts.checkpoint.loading import CheckpointError, resolve

NOISE_WARNING = """
*** No real weights: {reason}
*** Serving the built-in RANDOM-WEIGHT checkpoint at {fallback} -- its audio is noise.
*** For real speech run on a machine that can reach huggingface.co, or download a checkpoint elsewhere
*** (huggingface-cli download Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice --local-dir DIR) and run: make run MODEL=DIR
"""

USAGE = """
*** Serving {model}:
***   playground (open it in a browser)  http://localhost:{http_port}/
***   HTTP API, OpenAI-compatible        http://localhost:{http_port}/v1  (POST /v1/audio/speech)
***   streaming text in (WebSocket)      ws://localhost:{http_port}/v1/audio/speech/stream  (gRPC: StreamingSynthesize)
***   gRPC                               localhost:{port}  (qwen3tts.v1.TextToSpeechService)
***   metrics                            http://localhost:{metrics_port}/metrics
*** Try, in another shell:
***   curl -o hello.mp3 localhost:{http_port}/v1/audio/speech -H 'content-type: application/json' \\
***        -d '{{"model": "tts-1", "input": "Hello from Qwen3-TTS.", "voice": "vivian"}}'
***   .venv/bin/qwen3-tts say "Hello from Qwen3-TTS." -o hello.wav
***   .venv/bin/grpcurl -plaintext -d '{{"text":"hi"}}' localhost:{port} qwen3tts.v1.TextToSpeechService/Synthesize
*** Ctrl-C stops it (in-flight streams get the grace period).
*** CPU serving at the fastest precision (int8 weights, compiled step; first start compiles for minutes):
***   make run ARGS="--quantization auto"
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--fallback", required=True)
    p.add_argument("--port", default="50051")
    p.add_argument("--metrics-port", default="9090")
    p.add_argument("--http-port", default="8000")
    args, server_args = p.parse_known_args(argv)
    model = args.model
    try:
        resolve(model)
    except CheckpointError as e:
        print(NOISE_WARNING.format(reason=e, fallback=args.fallback), file=sys.stderr)
        model = args.fallback
    print(USAGE.format(model=model, port=args.port, metrics_port=args.metrics_port, http_port=args.http_port),
          file=sys.stderr)
    from server.__main__ import main as serve

    serve(["--model", model, "--port", args.port, "--metrics-port", args.metrics_port, "--http-port", args.http_port,
           "--log-format", "console", *server_args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
