"""The gRPC front end: configuration, auth, metrics, logging and audio output (never imports torch)."""
