"""A Prism mock of Twilio's 2010 API, as a session-scoped pytest fixture.

Prism answers each request with the spec's example, and with 4xx (422 for a bad
body, 401 without credentials) when the request breaks the spec: a successful
call proves the SDK sent what Twilio documents.

Use it from any conftest (the import registers the fixture):

    from tests.twilio_mock import twilio_mock  # noqa: F401

then take `twilio_mock` (a `PrismMock`) in a test and point the SDK at
`twilio_mock.base_url`. Without npx or the spec the tests are skipped, unless
`CI` is truthy or `PRO_REQUIRE_TWILIO_MOCK=1`: then they fail.

Environment: `TWILIO_OAI_SPEC` (spec path; default `<repo>/../shared/twilio-oai/
twilio_api_v2010.json`), `TWILIO_MOCK_STARTUP_S` (seconds to wait, default 60; the
first run downloads Prism from the npm registry).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

PRISM_PACKAGE = "@stoplight/prism-cli@5.14.2"  # a known-good release, not the newest 5.x
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO_ROOT.parent / "shared" / "twilio-oai" / "twilio_api_v2010.json"
ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "mock-auth-token"


@dataclass(frozen=True)
class PrismMock:
    """Where the mock listens and credentials it accepts (any Basic auth passes)."""

    base_url: str
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN


def mock_required() -> bool:
    """True when a missing mock must fail the run instead of skipping."""
    truthy = {"1", "true", "yes", "on"}
    return (
        os.environ.get("CI", "").strip().lower() in truthy
        or os.environ.get("PRO_REQUIRE_TWILIO_MOCK", "").strip() == "1"
    )


def spec_path() -> Path:
    return Path(os.environ.get("TWILIO_OAI_SPEC") or DEFAULT_SPEC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    """True once Prism answers a documented request with any HTTP status."""
    auth = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request(
            "GET",
            f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json?PageSize=1",
            headers={"Authorization": f"Basic {auth}"},
        )
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End the process group this module started (npx, npm exec, node)."""
    for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait_s)


@contextlib.contextmanager
def run_prism(spec: Path, startup_s: float = 60) -> Iterator[str]:
    """Run Prism on a free loopback port; yield its base URL; stop it afterwards."""
    npx = shutil.which("npx")
    if npx is None:
        raise FileNotFoundError("npx is not on PATH")
    port = free_port()
    cmd = [npx, "--yes", PRISM_PACKAGE, "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + startup_s
            while not _answers(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"Prism did not start on port {port}:\n{tail}")
                time.sleep(0.5)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(proc)


def _unavailable(reason: str) -> NoReturn:
    if mock_required():
        pytest.fail(f"{reason} (required: CI or PRO_REQUIRE_TWILIO_MOCK is set)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def twilio_mock() -> Iterator[PrismMock]:
    """A running Prism mock of Twilio's 2010 API for the whole test session."""
    spec = spec_path()
    if shutil.which("npx") is None:
        _unavailable("npx is not installed, so the Twilio Prism mock cannot run")
    if not spec.is_file():
        _unavailable(f"Twilio OpenAPI spec not found at {spec} (set TWILIO_OAI_SPEC)")
    startup_s = float(os.environ.get("TWILIO_MOCK_STARTUP_S", "60"))
    with contextlib.ExitStack() as stack:
        try:
            base_url = stack.enter_context(run_prism(spec, startup_s))
        except (OSError, RuntimeError) as exc:
            _unavailable(f"the Twilio Prism mock did not start: {exc}")
        yield PrismMock(base_url=base_url)
