"""What counts as a good answer to a fuzzed request (docs/api.md, "Status codes" and the HTTP status table).

A good answer is OK, or a documented status that says what was wrong: INVALID_ARGUMENT names at least one field
(google.rpc.BadRequest; HTTP: `error.param`), refusals carry their reason (ErrorInfo; HTTP: `error.code`),
UNAVAILABLE carries RetryInfo (HTTP: Retry-After), RESOURCE_EXHAUSTED is either ours (with a reason) or the
transport's message-size limit. Never UNKNOWN, never INTERNAL, never HTTP 500. `judge_*` return None for a good
answer, else what is wrong with it (the fuzz tests collect these and fail with the first few).
"""

from __future__ import annotations

import json

import grpc

from tests.e2e import details

# Statuses the API documents for requests (gRPC); CANCELLED is the fuzz client's own cancel after first audio.
DOCUMENTED = {"OK", "CANCELLED", "INVALID_ARGUMENT", "FAILED_PRECONDITION", "NOT_FOUND", "ALREADY_EXISTS",
              "RESOURCE_EXHAUSTED", "UNAVAILABLE"}
# HTTP statuses the API documents (docs/api.md's table), plus Starlette's routing answers (307: a trailing slash).
HTTP_DOCUMENTED = {200, 201, 307, 400, 404, 405, 409, 413, 429, 431, 503, 507}


def judge_grpc(err: grpc.RpcError | None) -> str | None:
    if err is None:
        return None
    code = err.code().name
    if code not in DOCUMENTED:
        return f"{code}: {err.details()!r}"
    if code in ("OK", "CANCELLED"):
        return None
    d = details(err)
    if code == "INVALID_ARGUMENT" and not d.violations:
        return f"INVALID_ARGUMENT without a field: {d.message!r}"
    if code in ("FAILED_PRECONDITION", "NOT_FOUND", "ALREADY_EXISTS") and not d.reason:
        return f"{code} without a reason: {d.message!r}"
    if code == "RESOURCE_EXHAUSTED" and not d.reason and "larger than max" not in d.message:
        return f"RESOURCE_EXHAUSTED that is neither ours nor the size limit: {d.message!r}"
    if code == "UNAVAILABLE" and d.retry_delay_s is None:
        return f"UNAVAILABLE without RetryInfo: {d.message!r}"
    return None


def judge_http(status: int, headers: dict[str, str], body: bytes) -> str | None:
    if status not in HTTP_DOCUMENTED:
        return f"HTTP {status}: {body[:200]!r}"
    if status < 300:
        return None
    if status == 307:
        return None if headers.get("location") else "HTTP 307 without a location"
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {status} without an OpenAI error body: {body[:200]!r}"
    if not error.get("message") or not error.get("code"):
        return f"HTTP {status} error without message or code: {error}"
    if status == 400 and not error.get("param"):
        return f"HTTP 400 without the field at fault: {error}"
    if status in (429, 503) and "retry-after" not in headers:
        return f"HTTP {status} without Retry-After: {error}"
    return None
