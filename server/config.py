"""Server configuration: command-line flags, environment variables, a TOML file, defaults; validated at start.

Every setting has three spellings (the table SETTINGS below is the single list):

    flag            --max-batch 16
    environment     QWEN3_TTS_MAX_BATCH=16          (QWEN3_TTS_ + the setting name in upper case)
    TOML file       max_batch = 16                  (top-level key = the setting name)

Precedence: flag > environment > file > default. The file is named by --config FILE.toml or QWEN3_TTS_CONFIG.
An empty environment variable counts as unset. Relative paths in the file are relative to the file's directory;
in flags and the environment, to the working directory. Durations are in seconds unless the name ends in _ms.

`load_config(argv, env)` returns a validated, frozen `ServerConfig` or raises `ConfigError` listing every problem,
each naming the setting and where its value came from, e.g.

    port: 70000 is out of range 0..65535 (from environment QWEN3_TTS_PORT)
    tls_key: required when tls_cert is set (tls_cert from flag --tls-cert)
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NoReturn

from contract.capabilities import Limits

ENV_PREFIX = "QWEN3_TTS_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
DEFAULT_MODEL = "Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice"
MAX_TEXT_CHARS_LIMIT = 1_000_000  # the longest text one request may carry (it is spoken segment by segment)
DTYPES = ("float32", "bfloat16", "float16")
QUANTIZATIONS = ("none", "int8", "auto")  # = tts.engine.precision.QUANTIZATIONS (the server imports no torch)
CODEC_BATCHING = ("auto", "per-stream", "all-slots")  # = tts.engine.runner.CODEC_BATCHING (no torch here either)
DTYPE_CHOICES = ("auto", "float32", "bfloat16")  # = tts.engine.precision.DTYPE_CHOICES
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("json", "console")
_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


class ConfigError(ValueError):
    """Invalid configuration; `problems` lists one message per bad setting."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration:\n  " + "\n  ".join(self.problems))


@dataclass(frozen=True)
class ServerConfig:
    model: str = DEFAULT_MODEL
    host: str = "0.0.0.0"
    port: int = 50051
    metrics_host: str = "0.0.0.0"
    metrics_port: int = 9090
    http_host: str = "0.0.0.0"
    http_port: int = 8000  # 0: no HTTP API
    cors_origins: str = ""  # comma-separated origins allowed to call the HTTP API from a browser; "" = none
    voice_aliases: str = ""  # "alloy=vivian,echo=ryan": names the HTTP API also accepts as `voice`
    workers: int = 1
    threads: int = 0  # torch CPU threads per worker; 0: the CPUs this process may use / workers
    device: str = "auto"
    dtype: str = "auto"  # float32 on a CPU (the exact reference), bfloat16 on CUDA
    codec_dtype: str = "float32"
    quantization: str = "none"
    max_batch: int = 8
    max_queue: int = 32
    queue_timeout: float = 30.0
    default_chunk_ms: int = 80
    max_text_chars: int = 100_000
    max_audio_seconds: float = 3600.0
    cuda_graphs: str = "on"
    codec_batching: str = "auto"
    stream_idle_flush_ms: int = 500
    max_sessions: int = 64
    session_idle_timeout: float = 300.0  # 0: sessions never time out
    max_message_bytes: int = 8 * 1024 * 1024
    max_metadata_bytes: int = 16 * 1024
    max_streams_per_connection: int = 100
    stall_timeout: float = 60.0
    slow_client_timeout: float = 60.0
    grace_period: float = 30.0
    max_connection_age: float = 0.0  # 0: connections live forever
    log_level: str = "info"
    log_format: str = "json"
    auth_token_file: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    voice_store: Path | None = None
    config: Path | None = None  # the TOML file the values came from, if any
    # setting name -> where its value came from ("default", "file cfg.toml", "environment QWEN3_TTS_PORT", ...)
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def auth(self) -> bool:
        return self.auth_token_file is not None

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        return tuple(o.strip() for o in self.cors_origins.split(",") if o.strip())

    @property
    def voice_alias_map(self) -> dict[str, str]:
        """alias -> voice, both lower case (voice names are case-insensitive); validated by `validate`."""
        return dict(parse_aliases(self.voice_aliases)[0])

    @property
    def sessions(self) -> SessionSettings:
        return SessionSettings(idle_flush_s=self.stream_idle_flush_ms / 1000, max_sessions=self.max_sessions,
                               idle_timeout_s=self.session_idle_timeout)

    @property
    def limits(self) -> Limits:
        """The limits every request is held to (contract/rules.py)."""
        return Limits(max_text_characters=self.max_text_chars, max_audio_duration_ms=int(self.max_audio_seconds * 1000),
                      default_chunk_duration_ms=self.default_chunk_ms)


@dataclass(frozen=True)
class SessionSettings:
    """Streaming text input (server/sessions.py)."""

    idle_flush_s: float = 0.5  # speak the buffered text after this long without a new delta
    max_buffer_chars: int = 8192  # text buffered without a segment boundary (beyond: RESOURCE_EXHAUSTED)
    max_sessions: int = 64  # open sessions per worker
    idle_timeout_s: float = 300.0  # a session without input and with nothing to say is closed after this (0: never)


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str  # "int" | "float" | "str" | "path"
    help: str
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("model", "str", "checkpoint: a local directory in the official layout or a hub id", "ID|DIR"),
    Setting("host", "str", "address the gRPC server binds", "ADDR"),
    Setting("port", "int", "gRPC port (0: any free port, for tests)", "PORT"),
    Setting("metrics_host", "str", "address of the Prometheus /metrics endpoint", "ADDR"),
    Setting("metrics_port", "int", "Prometheus port (0: no metrics endpoint)", "PORT"),
    Setting("http_host", "str", "address the HTTP API (OpenAI-compatible, playground at /) binds", "ADDR"),
    Setting("http_port", "int", "HTTP API port (0: no HTTP API)", "PORT"),
    Setting("cors_origins", "str", "origins allowed to call the HTTP API from a browser, comma-separated, or * "
            "(unset: no CORS headers; the playground at / is same-origin and needs none)", "ORIGINS"),
    Setting("voice_aliases", "str", "extra names for voices on the HTTP API, e.g. alloy=vivian,echo=ryan "
            "(case-insensitive), for clients with a fixed list of OpenAI voices", "ALIAS=VOICE,..."),
    Setting("workers", "int", "worker processes (each holds one copy of the model)", "N"),
    Setting("threads", "int", "torch CPU threads per worker (0: the CPUs this process may use, divided among "
            "the workers; set it where that count is not the CPU share, e.g. a container with a CPU limit)", "N"),
    Setting("device", "str", "auto | cpu | cuda | cuda:N (auto: cuda if available, resolved by the workers)", "DEV"),
    Setting("dtype", "str", "talker and code predictor dtype: auto (float32 on a CPU, the exact reference; "
            "bfloat16 on CUDA) | float32 | bfloat16", "DTYPE"),
    Setting("codec_dtype", "str", f"codec decoder dtype: {' | '.join(DTYPES)} (float16: its convolutions only, "
            "for CPUs with AVX512-FP16; bfloat16 is for GPUs)", "DTYPE"),
    Setting("quantization", "str", f"{' | '.join(QUANTIZATIONS)}: int8 stores the talker's and code predictor's "
            "weights as int8 (per-channel scales); auto picks each component's precision for the machine "
            "(CPU: int8 + a compiled decode step, float32 codec; reported in GetServiceInfo). none with float32 "
            "is the exact reference", "MODE"),
    Setting("max_batch", "int", "concurrent sequences per worker (decode batch size)", "N"),
    Setting("max_queue", "int", "requests that may wait for a slot; beyond it new requests get UNAVAILABLE", "N"),
    Setting("queue_timeout", "float", "seconds a request may wait for a slot before UNAVAILABLE", "SECONDS"),
    Setting("default_chunk_ms", "int", "chunk duration when a request sends 0 (20..100)", "MS"),
    Setting("max_text_chars", "int", f"longest accepted text in characters (1..{MAX_TEXT_CHARS_LIMIT})", "N"),
    Setting("max_audio_seconds", "float", "longest audio one request may produce", "SECONDS"),
    Setting("max_message_bytes", "int", "largest accepted request message (voice-cloning audio)", "BYTES"),
    Setting("cuda_graphs", "str", "on | off: on a CUDA device, capture the decode step as CUDA graphs at start-up "
            "(one per row bucket and cache-length bucket); ignored on a CPU", "ON|OFF"),
    Setting("codec_batching", "str", f"{' | '.join(CODEC_BATCHING)}: per-stream decodes each stream's audio alone "
            "(idle slots cost nothing: latency at low load), all-slots every slot in one batched step (throughput "
            "at full load; the only mode CUDA graphs capture); auto: per-stream on a CPU, all-slots on CUDA", "MODE"),
    Setting("max_metadata_bytes", "int", "largest accepted request metadata (gRPC) or header block (HTTP: 431 "
            "beyond it)", "BYTES"),
    Setting("max_streams_per_connection", "int", "concurrent gRPC calls one client connection may open (HTTP/2 "
            "SETTINGS_MAX_CONCURRENT_STREAMS); more wait in the client", "N"),
    Setting("stall_timeout", "float", "a worker with work that reports nothing (no frame, no stats) for this long "
            "is hung: it is killed, its requests end UNAVAILABLE and a new worker replaces it", "SECONDS"),
    Setting("slow_client_timeout", "float", "a stream whose client reads no audio for this long is stopped and its "
            "decode slot freed (RESOURCE_EXHAUSTED CLIENT_TOO_SLOW); 0: never", "SECONDS"),
    Setting("stream_idle_flush_ms", "int", "streaming text input: speak the buffered text after this long without "
            "new text (even mid-sentence)", "MS"),
    Setting("max_sessions", "int", "streaming text input: open sessions per worker (they hold no decode slot while "
            "they wait for text)", "N"),
    Setting("session_idle_timeout", "float", "streaming text input: close a session (gRPC or WebSocket) that has sent "
            "nothing for this long while nothing was left to say (0: never)", "SECONDS"),
    Setting("grace_period", "float", "seconds in-flight streams may finish after SIGTERM", "SECONDS"),
    Setting("max_connection_age", "float", "close client connections after this many seconds (0: never), so that "
            "clients balancing by DNS round-robin re-resolve and reach new replicas; streams in flight get "
            "grace_period more", "SECONDS"),
    Setting("log_level", "str", f"{' | '.join(LOG_LEVELS)}", "LEVEL"),
    Setting("log_format", "str", "json (one JSON object per line) | console (human-readable)", "FORMAT"),
    Setting("auth_token_file", "path", "file of accepted bearer tokens, one per line (unset: no auth)", "FILE"),
    Setting("tls_cert", "path", "PEM certificate chain; enables TLS (needs --tls-key)", "FILE"),
    Setting("tls_key", "path", "PEM private key of --tls-cert", "FILE"),
    Setting("tls_client_ca", "path", "PEM CA bundle; requires and verifies client certificates (mTLS)", "FILE"),
    Setting("voice_store", "path", "directory where registered voices persist (unset: kept in memory)", "DIR"),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m server",
        description="Streaming inference server for Qwen3-TTS: gRPC, and an OpenAI-compatible HTTP API with a playground.",
        epilog=(f"Every flag can also be set by the environment variable {ENV_PREFIX}<NAME> (e.g. {ENV_PREFIX}PORT,"
                f" {ENV_PREFIX}MAX_BATCH) or by a top-level key in the TOML file (e.g. max_batch = 16)."
                " Precedence: flag > environment > file > default."),
    )
    p.add_argument("--config", metavar="FILE.toml", default=None,
                   help=f"TOML file with settings (env {CONFIG_ENV})")
    defaults = ServerConfig()
    for s in SETTINGS:
        default = getattr(defaults, s.name)
        p.add_argument(s.flag, dest=s.name, metavar=s.metavar, default=None,
                       help=f"{s.help} [default: {default if default is not None else 'unset'}; env {s.env}]")
    return p


def _convert(s: Setting, raw: Any, from_text: bool) -> Any:
    """Value in the setting's type, or ValueError with a short reason."""
    if s.kind == "int":
        if from_text:
            try:
                return int(str(raw).strip(), 10)
            except ValueError:
                raise ValueError(f"{raw!r} is not an integer") from None
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"{raw!r} is not an integer")
        return raw
    if s.kind == "float":
        if from_text:
            try:
                return float(str(raw).strip())
            except ValueError:
                raise ValueError(f"{raw!r} is not a number") from None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ValueError(f"{raw!r} is not a number")
        return float(raw)
    if not isinstance(raw, str):
        raise ValueError(f"{raw!r} is not a string")
    if s.kind == "path":
        return Path(raw).expanduser()
    return raw


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError([f"config: file {path} does not exist"]) from None
    except OSError as e:
        raise ConfigError([f"config: cannot read {path}: {e.strerror or e}"]) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"config: {path} is not valid TOML: {e}"]) from None


def load_config(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> ServerConfig:
    """Parse flags (`argv`, default sys.argv[1:]), environment (`env`, default os.environ) and the TOML file."""
    env = os.environ if env is None else env
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    problems: list[str] = []
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    config_path: Path | None = None
    if args.config:
        config_path, config_source = Path(args.config).expanduser(), "flag --config"
    elif env.get(CONFIG_ENV):
        config_path, config_source = Path(env[CONFIG_ENV]).expanduser(), f"environment {CONFIG_ENV}"
    if config_path is not None:
        try:
            data = _read_toml(config_path)
        except ConfigError as e:
            raise ConfigError([f"{p} (from {config_source})" for p in e.problems]) from None
        for key, raw in data.items():
            s = _BY_NAME.get(key)
            if s is None:
                hint = difflib.get_close_matches(key, list(_BY_NAME), n=1)
                problems.append(f"{key}: unknown setting in {config_path}"
                                + (f"; did you mean {hint[0]!r}?" if hint else ""))
                continue
            try:
                value = _convert(s, raw, from_text=False)
                if s.kind == "path" and not value.is_absolute():
                    value = config_path.parent / value  # relative to the file, not to the working directory
                values[key] = value
                sources[key] = f"file {config_path}"
            except ValueError as e:
                problems.append(f"{key}: {e} (from file {config_path})")

    # the environment overrides the file, a flag overrides both; an empty variable counts as unset
    layers = ((lambda s: env.get(s.env) or None, lambda s: f"environment {s.env}"),
              (lambda s: getattr(args, s.name), lambda s: f"flag {s.flag}"))
    for raw_of, source_of in layers:
        for s in SETTINGS:
            raw = raw_of(s)
            if raw is None:
                continue
            try:
                values[s.name] = _convert(s, raw, from_text=True)
                sources[s.name] = source_of(s)
            except ValueError as e:
                problems.append(f"{s.name}: {e} (from {source_of(s)})")

    for s in SETTINGS:
        sources.setdefault(s.name, "default")
    if problems:
        raise ConfigError(problems)
    if isinstance(values.get("log_level"), str):
        values["log_level"] = values["log_level"].lower()
    cfg = ServerConfig(**values, config=config_path, sources=sources)
    problems = validate(cfg)
    if problems:
        raise ConfigError(problems)
    return cfg


def validate(cfg: ServerConfig) -> list[str]:
    """Every problem with `cfg`, each naming the setting and the source of its value."""
    out: list[str] = []

    def bad(name: str, message: str) -> None:
        src = cfg.sources.get(name, "default")
        out.append(f"{name}: {message}" + ("" if src == "default" else f" (from {src})"))

    def in_range(name: str, lo: float, hi: float, what: str = "") -> None:
        v = getattr(cfg, name)
        if not lo <= v <= hi:
            bad(name, f"{v} is out of range {lo}..{hi}{what}")

    if not cfg.model.strip():
        bad("model", "must not be empty")
    elif cfg.model.startswith(("/", "./", "../", "~")) and not Path(cfg.model).expanduser().is_dir():
        bad("model", f"directory {cfg.model} does not exist")
    for name in ("host", "metrics_host", "http_host"):
        if not getattr(cfg, name).strip():
            bad(name, "must not be empty")
    in_range("port", 0, 65535)
    in_range("metrics_port", 0, 65535)
    in_range("http_port", 0, 65535)
    if cfg.port and cfg.port == cfg.metrics_port:
        bad("metrics_port", f"{cfg.metrics_port} is also the gRPC port")
    if cfg.http_port and cfg.http_port in (cfg.port, cfg.metrics_port):
        other = "gRPC" if cfg.http_port == cfg.port else "metrics"
        bad("http_port", f"{cfg.http_port} is also the {other} port")
    for origin in cfg.cors_origin_list:
        if origin != "*" and not re.match(r"^https?://[^/\s]+$", origin):
            bad("cors_origins", f"{origin!r} is not an origin (scheme://host[:port], no path) or *")
    for problem in parse_aliases(cfg.voice_aliases)[1]:
        bad("voice_aliases", problem)
    if cfg.workers < 1:
        bad("workers", f"{cfg.workers} is less than 1")
    in_range("threads", 0, 1024)
    if not _DEVICE_RE.match(cfg.device):
        bad("device", f"{cfg.device!r} is not one of auto, cpu, cuda, cuda:N")
    if cfg.dtype not in DTYPE_CHOICES:
        bad("dtype", f"{cfg.dtype!r} is not one of {', '.join(DTYPE_CHOICES)}")
    if cfg.codec_dtype not in DTYPES:
        bad("codec_dtype", f"{cfg.codec_dtype!r} is not one of {', '.join(DTYPES)}")
    if cfg.quantization not in QUANTIZATIONS:
        bad("quantization", f"{cfg.quantization!r} is not one of {', '.join(QUANTIZATIONS)}")
    in_range("max_batch", 1, 1024)
    in_range("max_queue", 0, 100_000)
    if not 0 < cfg.queue_timeout <= 3600:
        bad("queue_timeout", f"{cfg.queue_timeout} is out of range (0, 3600] seconds")
    in_range("default_chunk_ms", 20, 100, " ms")
    in_range("max_text_chars", 1, MAX_TEXT_CHARS_LIMIT)
    if not 0 < cfg.max_audio_seconds <= 86_400:
        bad("max_audio_seconds", f"{cfg.max_audio_seconds} is out of range (0, 86400] seconds")
    in_range("max_message_bytes", 64 * 1024, 256 * 1024 * 1024)
    if cfg.cuda_graphs not in ("on", "off"):
        bad("cuda_graphs", f"{cfg.cuda_graphs!r} is not one of on, off")
    if cfg.codec_batching not in CODEC_BATCHING:
        bad("codec_batching", f"{cfg.codec_batching!r} is not one of {', '.join(CODEC_BATCHING)}")
    in_range("max_metadata_bytes", 1024, 1024 * 1024)
    in_range("max_streams_per_connection", 1, 100_000)
    if not 0.5 <= cfg.stall_timeout <= 3600:
        bad("stall_timeout", f"{cfg.stall_timeout} is out of range 0.5..3600 seconds")
    if not 0 <= cfg.slow_client_timeout <= 86_400:
        bad("slow_client_timeout", f"{cfg.slow_client_timeout} is out of range 0..86400 seconds")
    in_range("stream_idle_flush_ms", 50, 60_000, " ms")
    in_range("max_sessions", 1, 100_000)
    in_range("session_idle_timeout", 0, 86_400, " s")
    if not 0 <= cfg.grace_period <= 3600:
        bad("grace_period", f"{cfg.grace_period} is out of range 0..3600 seconds")
    if not 0 <= cfg.max_connection_age <= 86_400:
        bad("max_connection_age", f"{cfg.max_connection_age} is out of range 0..86400 seconds")
    if cfg.log_level not in LOG_LEVELS:
        bad("log_level", f"{cfg.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
    if cfg.log_format not in LOG_FORMATS:
        bad("log_format", f"{cfg.log_format!r} is not one of {', '.join(LOG_FORMATS)}")

    if cfg.auth_token_file is not None:
        _check_token_file(cfg.auth_token_file, lambda m: bad("auth_token_file", m))
    if cfg.tls_cert is not None and cfg.tls_key is None:
        bad("tls_key", f"required when tls_cert is set (tls_cert from {cfg.sources.get('tls_cert', 'default')})")
    if cfg.tls_key is not None and cfg.tls_cert is None:
        bad("tls_cert", f"required when tls_key is set (tls_key from {cfg.sources.get('tls_key', 'default')})")
    if cfg.tls_client_ca is not None and cfg.tls_cert is None:
        bad("tls_client_ca", "needs tls_cert and tls_key (mTLS is an addition to TLS)")
    for name, marker in (("tls_cert", "CERTIFICATE"), ("tls_key", "PRIVATE KEY"), ("tls_client_ca", "CERTIFICATE")):
        path = getattr(cfg, name)
        if path is not None:
            _check_pem(path, marker, lambda m, n=name: bad(n, m))
    if cfg.voice_store is not None:
        _check_voice_store(cfg.voice_store, lambda m: bad("voice_store", m))
    return out


def parse_aliases(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """("alloy=vivian, Echo=ryan") -> ([("alloy", "vivian"), ("echo", "ryan")], problems)."""
    pairs: list[tuple[str, str]] = []
    problems: list[str] = []
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        alias, sep, voice = (x.strip().lower() for x in item.partition("="))
        if not sep or not alias or not voice:
            problems.append(f"{item!r} is not ALIAS=VOICE")
        elif any(c.isspace() for c in alias + voice):
            problems.append(f"{item!r}: names must not contain spaces")
        elif alias in dict(pairs):
            problems.append(f"alias {alias!r} is given twice")
        elif alias == voice:
            problems.append(f"{item!r} names a voice as its own alias")
        else:
            pairs.append((alias, voice))
    return pairs, problems


def _read_text(path: Path, complain: Callable[[str], None]) -> str | None:
    if not path.exists():
        complain(f"file {path} does not exist")
    elif not path.is_file():
        complain(f"{path} is not a regular file")
    else:
        try:
            return path.read_text(encoding="utf-8")
        except PermissionError:
            complain(f"file {path} is not readable (permission denied)")
        except (OSError, UnicodeDecodeError) as e:
            complain(f"cannot read {path}: {e}")
    return None


def _check_token_file(path: Path, complain: Callable[[str], None]) -> None:
    from server.auth import parse_tokens  # grpc-free parsing shared with the interceptor

    text = _read_text(path, complain)
    if text is None:
        return
    try:
        if not parse_tokens(text):
            complain(f"{path} contains no token (one token per line; '#' starts a comment)")
    except ValueError as e:
        complain(f"{path}: {e}")


def _check_pem(path: Path, marker: str, complain: Callable[[str], None]) -> None:
    text = _read_text(path, complain)
    if text is not None and not re.search(rf"-----BEGIN [A-Z ]*{marker}-----", text):
        complain(f"{path} is not a PEM file with a {marker} block")


def _check_voice_store(path: Path, complain: Callable[[str], None]) -> None:
    if path.exists():
        if not path.is_dir():
            complain(f"{path} exists and is not a directory")
        elif not os.access(path, os.W_OK | os.X_OK):
            complain(f"directory {path} is not writable")
        return
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        complain(f"{path} does not exist and cannot be created ({parent} is not writable)")


def load_config_or_exit(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> ServerConfig:
    """`load_config`, printing the problems to stderr and exiting with status 2 on error (like argparse)."""
    try:
        return load_config(argv, env)
    except ConfigError as e:
        _exit(str(e))


def _exit(message: str) -> NoReturn:
    print(f"qwen3-tts-server: {message}", file=sys.stderr)
    raise SystemExit(2)


def describe(cfg: ServerConfig) -> dict[str, Any]:
    """Effective settings with their sources, for the start-up log line (paths as strings, no secrets)."""
    out: dict[str, Any] = {}
    for f in fields(cfg):
        if f.name == "sources":
            continue
        v = getattr(cfg, f.name)
        out[f.name] = {"value": str(v) if isinstance(v, Path) else v, "source": cfg.sources.get(f.name, "default")}
    return out
