"""Server configuration: precedence flag > env > file > default, and every validation error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from server.config import (
    MAX_TEXT_CHARS_LIMIT,
    SETTINGS,
    ConfigError,
    ServerConfig,
    build_parser,
    describe,
    load_config,
    load_config_or_exit,
)

CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


def _problems(argv=(), env=None) -> list[str]:
    with pytest.raises(ConfigError) as e:
        load_config(list(argv), env or {})
    return e.value.problems


def _one(argv=(), env=None) -> str:
    problems = _problems(argv, env)
    assert len(problems) == 1, problems
    return problems[0]


def test_defaults() -> None:
    cfg = load_config([], {})
    assert cfg == ServerConfig()
    assert (cfg.port, cfg.metrics_port, cfg.workers, cfg.default_chunk_ms) == (50051, 9090, 1, 80)
    assert not cfg.tls and not cfg.auth and cfg.config is None
    assert set(cfg.sources.values()) == {"default"}


def test_every_setting_has_flag_env_and_field() -> None:
    parser_flags = {a.option_strings[0] for a in build_parser()._actions if a.option_strings}
    fields = set(ServerConfig.__dataclass_fields__)
    for s in SETTINGS:
        assert s.flag in parser_flags and s.name in fields
        assert s.env == "QWEN3_TTS_" + s.name.upper()
    for required in ("--model", "--host", "--port", "--metrics-port", "--workers", "--device", "--max-batch",
                     "--max-queue", "--auth-token-file", "--tls-cert", "--tls-key", "--voice-store", "--config",
                     "--queue-timeout", "--default-chunk-ms", "--grace-period", "--log-level", "--dtype",
                     "--codec-dtype", "--max-text-chars"):
        assert required in parser_flags


def test_precedence_flag_env_file_default(tmp_path: Path) -> None:
    cfg_file = tmp_path / "server.toml"
    cfg_file.write_text('port = 7001\nmax_batch = 3\nworkers = 2\nlog_level = "WARNING"\nqueue_timeout = 5\n')
    env = {"QWEN3_TTS_CONFIG": str(cfg_file), "QWEN3_TTS_PORT": "7002", "QWEN3_TTS_MAX_BATCH": "4"}
    cfg = load_config(["--port", "7003"], env)
    assert cfg.port == 7003 and cfg.sources["port"] == "flag --port"  # flag beats env and file
    assert cfg.max_batch == 4 and cfg.sources["max_batch"] == "environment QWEN3_TTS_MAX_BATCH"  # env beats file
    assert cfg.workers == 2 and cfg.sources["workers"] == f"file {cfg_file}"  # file beats default
    assert cfg.queue_timeout == 5.0 and isinstance(cfg.queue_timeout, float)
    assert cfg.log_level == "warning"  # case-insensitive
    assert cfg.metrics_port == 9090 and cfg.sources["metrics_port"] == "default"
    assert cfg.config == cfg_file
    # --config beats QWEN3_TTS_CONFIG
    other = tmp_path / "other.toml"
    other.write_text("workers = 5\n")
    assert load_config(["--config", str(other)], env).workers == 5
    assert describe(cfg)["port"] == {"value": 7003, "source": "flag --port"}


def test_relative_paths_in_the_file_are_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "tokens").write_text("abc\n")
    cfg_file = tmp_path / "conf" / "server.toml"
    cfg_file.write_text('auth_token_file = "tokens"\nvoice_store = "voices"\n')
    cfg = load_config(["--config", str(cfg_file)], {})
    assert cfg.auth_token_file == tmp_path / "conf" / "tokens"
    assert cfg.voice_store == tmp_path / "conf" / "voices"


def test_empty_env_counts_as_unset() -> None:
    assert load_config([], {"QWEN3_TTS_PORT": "", "QWEN3_TTS_TLS_CERT": ""}).port == 50051


def test_flag_forms_and_paths(tmp_path: Path) -> None:
    cfg = load_config([f"--voice-store={tmp_path / 'voices'}", "--device", "cuda:1", "--dtype", "bfloat16",
                       "--metrics-port", "0", "--port", "0"], {})
    assert cfg.voice_store == tmp_path / "voices" and isinstance(cfg.voice_store, Path)
    assert (cfg.device, cfg.dtype, cfg.metrics_port, cfg.port) == ("cuda:1", "bfloat16", 0, 0)


@pytest.mark.parametrize("argv, env, expected", [
    (["--port", "70000"], {}, "port: 70000 is out of range 0..65535 (from flag --port)"),
    ([], {"QWEN3_TTS_PORT": "-1"}, "port: -1 is out of range 0..65535 (from environment QWEN3_TTS_PORT)"),
    (["--port", "abc"], {}, "port: 'abc' is not an integer (from flag --port)"),
    ([], {"QWEN3_TTS_QUEUE_TIMEOUT": "soon"}, "queue_timeout: 'soon' is not a number"),
    (["--metrics-port", "70000"], {}, "metrics_port: 70000 is out of range"),
    (["--port", "9090"], {}, "metrics_port: 9090 is also the gRPC port"),
    (["--workers", "0"], {}, "workers: 0 is less than 1 (from flag --workers)"),
    ([], {"QWEN3_TTS_THREADS": "-2"}, "threads: -2 is out of range 0..1024 (from environment QWEN3_TTS_THREADS)"),
    (["--device", "gpu"], {}, "device: 'gpu' is not one of auto, cpu, cuda, cuda:N"),
    (["--dtype", "fp8"], {}, "dtype: 'fp8' is not one of auto, float32, bfloat16"),
    (["--codec-dtype", "int8"], {}, "codec_dtype: 'int8' is not one of"),
    (["--quantization", "int4"], {}, "quantization: 'int4' is not one of none, int8, auto"),
    ([], {"QWEN3_TTS_CODEC_BATCHING": "some"}, "codec_batching: 'some' is not one of auto, per-stream, all-slots"),
    (["--max-batch", "0"], {}, "max_batch: 0 is out of range 1..1024"),
    (["--max-queue", "-5"], {}, "max_queue: -5 is out of range 0..100000"),
    (["--queue-timeout", "0"], {}, "queue_timeout: 0.0 is out of range (0, 3600] seconds"),
    (["--default-chunk-ms", "10"], {}, "default_chunk_ms: 10 is out of range 20..100 ms"),
    (["--default-chunk-ms", "120"], {}, "default_chunk_ms: 120 is out of range 20..100 ms"),
    (["--max-text-chars", "0"], {}, f"max_text_chars: 0 is out of range 1..{MAX_TEXT_CHARS_LIMIT}"),
    (["--max-text-chars", "2000000"], {}, "max_text_chars: 2000000 is out of range"),
    (["--max-audio-seconds", "0"], {}, "max_audio_seconds: 0.0 is out of range (0, 86400] seconds"),
    (["--max-message-bytes", "100"], {}, "max_message_bytes: 100 is out of range"),
    (["--grace-period", "-1"], {}, "grace_period: -1.0 is out of range 0..3600 seconds"),
    (["--session-idle-timeout", "-1"], {}, "session_idle_timeout: -1.0 is out of range 0..86400 s"),
    (["--log-level", "verbose"], {}, "log_level: 'verbose' is not one of debug, info, warning, error, critical"),
    (["--log-format", "xml"], {}, "log_format: 'xml' is not one of json, console"),
    (["--model", " "], {}, "model: must not be empty"),
    (["--model", "/nonexistent/ckpt"], {}, "model: directory /nonexistent/ckpt does not exist"),
    (["--host", ""], {}, "host: must not be empty"),
    (["--http-port", "70000"], {}, "http_port: 70000 is out of range 0..65535"),
    (["--port", "8000"], {}, "http_port: 8000 is also the gRPC port"),
    (["--http-port", "9090"], {}, "http_port: 9090 is also the metrics port"),
    (["--cors-origins", "https://a.example/path"], {}, "cors_origins: 'https://a.example/path' is not an origin"),
    (["--voice-aliases", "alloy"], {}, "voice_aliases: 'alloy' is not ALIAS=VOICE"),
    ([], {"QWEN3_TTS_VOICE_ALIASES": "a=b,A=c"}, "voice_aliases: alias 'a' is given twice (from environment"),
])
def test_validation_errors_name_the_setting(argv, env, expected) -> None:
    assert _one(argv, env).startswith(expected)


def test_http_settings() -> None:
    cfg = load_config([], {})
    assert (cfg.http_host, cfg.http_port, cfg.cors_origin_list, cfg.voice_alias_map) == ("0.0.0.0", 8000, (), {})
    cfg = load_config(["--http-port", "0", "--cors-origins", "https://app.example, http://localhost:3000",
                       "--voice-aliases", " Alloy=Vivian , echo=ryan"], {"QWEN3_TTS_HTTP_HOST": "127.0.0.1"})
    assert (cfg.http_host, cfg.http_port) == ("127.0.0.1", 0)  # 0: the HTTP API is off
    assert cfg.cors_origin_list == ("https://app.example", "http://localhost:3000")
    assert cfg.voice_alias_map == {"alloy": "vivian", "echo": "ryan"}


def test_session_settings() -> None:
    s = load_config([], {}).sessions
    assert (s.idle_flush_s, s.max_sessions, s.idle_timeout_s) == (0.5, 64, 300.0)
    s = load_config(["--session-idle-timeout", "0"], {"QWEN3_TTS_STREAM_IDLE_FLUSH_MS": "250"}).sessions
    assert (s.idle_flush_s, s.idle_timeout_s) == (0.25, 0.0)  # 0: sessions never time out


def test_hub_ids_are_not_checked_locally() -> None:
    assert load_config(["--model", "Qwen/Qwen3-TTS-12Hz-1.7B-CustomVoice"], {}).model.startswith("Qwen/")


def test_all_problems_are_reported_together() -> None:
    problems = _problems(["--port", "70000", "--workers", "0", "--device", "tpu"])
    assert [p.split(":")[0] for p in problems] == ["port", "workers", "device"]


def test_token_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert _one(["--auth-token-file", str(missing)]) == f"auth_token_file: file {missing} does not exist " \
                                                         "(from flag --auth-token-file)"
    assert _one(["--auth-token-file", str(tmp_path)]).startswith(f"auth_token_file: {tmp_path} is not a regular")
    empty = tmp_path / "empty"
    empty.write_text("# only a comment\n\n")
    assert "contains no token" in _one(["--auth-token-file", str(empty)])
    spaced = tmp_path / "spaced"
    spaced.write_text("Bearer abc\n")
    assert "line 1: a token must not contain whitespace" in _one(["--auth-token-file", str(spaced)])
    good = tmp_path / "tokens"
    good.write_text("# ops\nalpha\n  beta  \n")
    assert load_config(["--auth-token-file", str(good)], {}).auth


def test_unreadable_token_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # CI runs as root, which reads mode-000 files: simulate the permission error instead of chmod
    f = tmp_path / "tokens"
    f.write_text("alpha\n")

    def deny(self, *a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", deny)
    assert _one(["--auth-token-file", str(f)]) == f"auth_token_file: file {f} is not readable (permission denied)" \
                                                   " (from flag --auth-token-file)"


def test_tls_errors(tmp_path: Path) -> None:
    cert, key, ca, junk = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem", tmp_path / "junk.pem"
    cert.write_text(CERT)
    key.write_text(KEY)
    ca.write_text(CERT)
    junk.write_text("hello\n")
    assert _one(["--tls-cert", str(cert)]) == "tls_key: required when tls_cert is set (tls_cert from flag --tls-cert)"
    assert _one([], {"QWEN3_TTS_TLS_KEY": str(key)}) == \
        "tls_cert: required when tls_key is set (tls_key from environment QWEN3_TTS_TLS_KEY)"
    assert _one(["--tls-client-ca", str(ca)]).startswith("tls_client_ca: needs tls_cert and tls_key")
    assert _one(["--tls-cert", str(junk), "--tls-key", str(key)]).startswith(
        f"tls_cert: {junk} is not a PEM file with a CERTIFICATE block")
    assert _one(["--tls-cert", str(cert), "--tls-key", str(cert)]).startswith("tls_key: ")
    assert _one(["--tls-cert", str(cert), "--tls-key", str(tmp_path / "x")]).startswith(
        f"tls_key: file {tmp_path / 'x'} does not exist")
    cfg = load_config(["--tls-cert", str(cert), "--tls-key", str(key), "--tls-client-ca", str(ca)], {})
    assert cfg.tls and cfg.tls_client_ca == ca


def test_voice_store_errors(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("")
    assert _one(["--voice-store", str(f)]) == f"voice_store: {f} exists and is not a directory (from flag --voice-store)"
    assert load_config(["--voice-store", str(tmp_path / "new" / "deeper")], {}).voice_store is not None


def test_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    assert _one(["--config", str(missing)]) == f"config: file {missing} does not exist (from flag --config)"
    bad = tmp_path / "bad.toml"
    bad.write_text("port = \n")
    assert _one([], {"QWEN3_TTS_CONFIG": str(bad)}).startswith(f"config: {bad} is not valid TOML")
    typo = tmp_path / "typo.toml"
    typo.write_text("prot = 1\nmax_batch = \"eight\"\nworkers = true\n")
    problems = _problems(["--config", str(typo)])
    assert problems == [
        f"prot: unknown setting in {typo}; did you mean 'port'?",
        f"max_batch: 'eight' is not an integer (from file {typo})",
        f"workers: True is not an integer (from file {typo})",
    ]
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("port = 70000\n")
    assert _one(["--config", str(wrong)]) == f"port: 70000 is out of range 0..65535 (from file {wrong})"


def test_load_config_or_exit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        load_config_or_exit(["--workers", "0"], {})
    assert e.value.code == 2
    assert "workers: 0 is less than 1 (from flag --workers)" in capsys.readouterr().err


def test_help_mentions_env_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert "QWEN3_TTS_PORT" in out and "QWEN3_TTS_AUTH_TOKEN_FILE" in out and "flag > environment > file" in out


def test_quantization_defaults_to_exact_and_reaches_the_worker() -> None:
    from server.app import worker_spec

    assert ServerConfig().quantization == "none"
    cfg = load_config(["--quantization", "auto"], {})
    assert worker_spec(cfg, "/tmp/voices").quantization == "auto"
    assert load_config([], {"QWEN3_TTS_QUANTIZATION": "int8"}).quantization == "int8"


def test_codec_batching_defaults_to_auto_and_reaches_the_worker() -> None:
    from server.app import worker_spec
    from server.config import CODEC_BATCHING

    assert ServerConfig().codec_batching == "auto"
    cfg = load_config(["--codec-batching", "all-slots"], {})
    assert worker_spec(cfg, "/tmp/voices").codec_batching == "all-slots"
    assert CODEC_BATCHING == ("auto", "per-stream", "all-slots")  # = tts.engine.runner.CODEC_BATCHING


def test_threads_default_to_the_affinity_shared_by_the_workers_and_a_flag_sets_them() -> None:
    from server.app import worker_spec

    cpus = len(os.sched_getaffinity(0))
    assert worker_spec(load_config([], {}), "/tmp/voices").threads == cpus
    assert worker_spec(load_config(["--workers", str(cpus * 2)], {}), "/tmp/voices").threads == 1
    assert worker_spec(load_config(["--threads", "3", "--workers", "2"], {}), "/tmp/voices").threads == 3
    assert worker_spec(load_config([], {"QWEN3_TTS_THREADS": "1"}), "/tmp/voices").threads == 1
