"""Fixtures of the end-to-end suites: Prosody servers that the test that
asked for them stops, and a way to run slixmpp coroutines."""

import asyncio
import logging
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from harness import WAIT, Prosody  # noqa: E402

# slixmpp complains loudly when a registration-only client skips login.
logging.getLogger("slixmpp").setLevel(logging.CRITICAL)

OURS = ["invites", "invites_adhoc", "invites_register"]


def run(coro, timeout: float = 10 * WAIT):
    """Runs a coroutine to its end. The bound is a last resort, well above
    the waits inside (WAIT each), so that a failing wait names itself."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def prosody(tmp_path):
    """A factory: prosody(modules=..., ...) starts a server; all are stopped
    when the test ends, and their logs are printed if it failed."""
    started: list[Prosody] = []

    def start(users=(), **kwargs) -> Prosody:
        kwargs.setdefault("modules", OURS)
        kwargs.setdefault("admins", ["admin@example.com"])
        # A second host stands for "another server's users" (no s2s needed).
        kwargs.setdefault("hosts", ("example.com", "other.example"))
        workdir = tmp_path / f"prosody{len(started)}"
        workdir.mkdir()
        server = Prosody(workdir, **kwargs)
        server.write_config()
        for jid in users:
            server.adduser(jid)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        # Shown by pytest only when the test failed.
        print(f"--- {server.workdir} ---\n{server.tail()}")
        server.stop()
