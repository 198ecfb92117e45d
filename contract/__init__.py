"""The one request vocabulary every layer shares: torch-free and protobuf-free.

- request.py       what a client asks for (`SynthesisRequest`), in the gRPC API's field names
- formats.py       output encodings, their sample rates and chunk bounds
- capabilities.py  what the loaded model can do, and the server's limits (travels in the worker's Ready)
- rules.py         `resolve(request, capabilities)`: the only rulebook; violations name API fields
- outcome.py       how a synthesis ends (finish reasons), shared by the engine, the workers and the server
"""
