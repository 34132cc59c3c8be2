"""A real Prosody for the end-to-end suites: started on free loopback ports
with a throw-away data directory and the plugin paths a test chooses, and
stopped by the test that started it. Plus slixmpp clients that speak the
invite protocols (XEP-0445 pre-authenticated registration, XEP-0379,
XEP-0050 ad-hoc commands)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ET

ROOT = Path(__file__).resolve().parents[2]
OUR_MODULES = ROOT / "bindings" / "prosody"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PARS = "urn:xmpp:pars:0"
# How long to wait for an answer that should come: only a failing test waits
# this long, and a loaded 2-core machine can stall for seconds.
WAIT = 30.0


# The Prosody under test: Debian's on PATH, or the launchers in
# $XI_PROSODY_BIN (tests/prosody/prosody13.sh unpacks Prosody 13 there).
# Every start checks that the server says it is $XI_PROSODY_VERSION.
PROSODY_BIN = os.environ.get("XI_PROSODY_BIN", "")
PROSODY_VERSION = os.environ.get("XI_PROSODY_VERSION", "0.12.3")
# 13 or later: what came with Prosody 13 (its shell commands, roles and
# permissions).
PROSODY_13 = int(PROSODY_VERSION.split(".")[0]) >= 13


def prosody_command(name: str) -> str:
    return os.path.join(PROSODY_BIN, name) if PROSODY_BIN else name


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lua_module_dir() -> Path:
    """Where tests/lua/run.sh or scripts/test.sh staged xmpp_invites.so for Lua 5.4."""
    d = Path(os.environ.get("XI_MODULE_DIR", ROOT / "target" / "lua" / "lua54"))
    if not (d / "xmpp_invites.so").exists():
        raise RuntimeError(f"{d}/xmpp_invites.so is missing: build it (bash tests/prosody/run.sh does)")
    return d


@dataclass
class Prosody:
    """One Prosody process. `ours` puts bindings/prosody first in plugin_paths."""

    workdir: Path
    hosts: Iterable[str] = ("example.com",)
    modules: Iterable[str] = ()
    ours: bool = True
    plugin_paths: Iterable[str] = ()  # searched after ours
    storage: str = "internal"
    config: str = ""  # extra global options (Lua)
    host_config: str = ""  # extra options for every VirtualHost
    admins: Iterable[str] = ()
    # Off so that clients need no TLS; Prosody's default is on.
    require_encryption: bool = False
    # Whether xmpp_invites.so is on Prosody's package.cpath (off: the
    # config names it with xmpp_invites_library).
    cpath: bool = True
    # Set for the server and prosodyctl alike.
    environment: dict = field(default_factory=dict)
    c2s_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        # Each port was free when picked, and the socket that found it is
        # closed, so two picks can give the same port (10 in 100,000 pairs
        # here); Prosody would then fail to open the second.
        while self.http_port == self.c2s_port:
            self.http_port = free_port()

    @property
    def config_path(self) -> Path:
        return self.workdir / "prosody.cfg.lua"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_path(self) -> Path:
        return self.workdir / "prosody.log"

    def write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "certs").mkdir(exist_ok=True)
        plugin_paths = ([str(OUR_MODULES)] if self.ours else []) + [str(p) for p in self.plugin_paths]
        modules = ["roster", "saslauth", "disco", "presence", "ping", "register", "adhoc", "admin_shell", *self.modules]
        storage = 'storage = "internal"'
        if self.storage == "sql":
            storage = f'storage = "sql"\nsql = {{ driver = "SQLite3", database = "{self.data_dir}/prosody.sqlite" }}'
        lua_list = lambda items: "{ " + ", ".join(f'"{i}"' for i in items) + " }"
        text = f"""
-- Written by tests/prosody/harness.py; thrown away with {self.workdir}.
pidfile = "{self.workdir}/prosody.pid"
data_path = "{self.data_dir}"
plugin_paths = {lua_list(plugin_paths)}
run_as_root = true
admins = {lua_list(self.admins)}
modules_enabled = {lua_list(modules)}
modules_disabled = {{ "s2s", "posix" }}
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {self.c2s_port} }}
c2s_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ }}
http_ports = {{ {self.http_port} }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
admin_socket = "{self.workdir}/admin.sock"
certificates = "{self.workdir}/certs"
c2s_require_encryption = {"true" if self.require_encryption else "false"}
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
{storage}
log = {{ debug = "{self.log_path}" }}
{self.config}
"""
        for host in self.hosts:
            text += f'\nVirtualHost "{host}"\n{self.host_config}\n'
        self.config_path.write_text(text)

    def env(self) -> dict:
        env = dict(os.environ)
        env.pop("LUA_CPATH_5_4", None)
        env.pop("LUA_CPATH", None)
        if self.cpath:
            cpath = f"{lua_module_dir()}/?.so;;"
            env["LUA_CPATH_5_4"] = cpath
            env["LUA_CPATH"] = cpath
        env.update(self.environment)
        return env

    def start(self, timeout: float = 2 * WAIT) -> "Prosody":
        self.write_config()
        # Only what this start logs counts (restarts append to the log).
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.proc = subprocess.Popen(
            [prosody_command("prosody"), "-F", "--config", str(self.config_path)],
            env=self.env(),
            stdout=open(self.workdir / "stdout.log", "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # Listening is not proof: another program may hold a port we picked
        # (Prosody then logs the failure and runs on). Prosody's own log
        # must say it opened c2s, and http when it serves http, on ours.
        c2s = f"Activated service 'c2s' on [127.0.0.1]:{self.c2s_port}"
        http = f"Activated service 'http' on [127.0.0.1]:{self.http_port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prosody exited with {self.proc.returncode}:\n{self.tail()}")
            log = self.log_path.read_bytes()[log_start:].decode(errors="replace") if self.log_path.exists() else ""
            if "Failed to open server port" in log:
                self.stop()
                raise RuntimeError(f"prosody could not open a port:\n{self.tail()}")
            if c2s in log and (http in log or "Activated service 'http'" not in log):
                said = f"Hello and welcome to Prosody version {PROSODY_VERSION}\n"
                if said not in log:
                    self.stop()
                    raise RuntimeError(f"this is not Prosody {PROSODY_VERSION}:\n{self.tail()}")
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"prosody did not open c2s on {self.c2s_port}:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def restart(self) -> None:
        self.stop()
        self.start()

    def tail(self, lines: int = 40) -> str:
        out = []
        for p in (self.workdir / "stdout.log", self.log_path):
            if p.exists():
                out += p.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(out)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stored_invites(self) -> str:
        """What the internal storage holds of invites (every host's
        invite_token files), as text."""
        return "".join(p.read_text() for p in sorted(self.data_dir.rglob("invite_token*.dat")))

    def wait_for_log(self, pattern: str) -> re.Match | None:
        """The first match of `pattern` in the log, waiting up to WAIT for
        it: Prosody 13 may log a host's module errors after its c2s opened."""
        deadline = time.monotonic() + WAIT
        while True:
            found = re.search(pattern, self.log_text())
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def prosodyctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run(
            [prosody_command("prosodyctl"), "--config", str(self.config_path), *args],
            env=self.env(), capture_output=True, text=True, timeout=60,
        )
        if check and p.returncode != 0:
            raise RuntimeError(f"prosodyctl {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    def adduser(self, jid: str, password: str = "secret") -> None:
        self.prosodyctl("register", *jid.split("@"), password)

    def __enter__(self) -> "Prosody":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Client(slixmpp.ClientXMPP):
    """A logged-in client that records what it receives."""

    def __init__(self, jid: str, password: str, port: int):
        super().__init__(jid, password)
        self.port = port
        self.presences: list = []
        self.roster_pushes: list = []
        self.ready = asyncio.Event()
        self.failed: str | None = None
        for plugin in ("xep_0030", "xep_0004", "xep_0050", "xep_0199"):
            self.register_plugin(plugin)
        self.plugin["feature_mechanisms"].unencrypted_plain = True
        self.enable_starttls = False
        self.enable_direct_tls = False
        self.enable_plaintext = True
        self.auto_authorize = True
        self.auto_subscribe = True
        self.add_event_handler("session_start", self._started)
        self.add_event_handler("failed_auth", lambda _: self._fail("auth failed"))
        self.add_event_handler("presence", lambda p: self.presences.append(p))
        self.add_event_handler("roster_update", lambda r: self.roster_pushes.append(r))

    def _fail(self, why: str) -> None:
        self.failed = why
        self.ready.set()

    async def _started(self, _event) -> None:
        await self.get_roster()
        self.send_presence()
        self.ready.set()

    async def online(self, timeout: float = WAIT) -> "Client":
        self.connect("127.0.0.1", self.port)
        await asyncio.wait_for(self.ready.wait(), timeout)
        if self.failed:
            raise RuntimeError(f"{self.boundjid}: {self.failed}")
        return self

    async def command(self, node: str, to: str | None = None, submit: dict | None = None,
                      at_once: bool = False):
        """Runs an ad-hoc command: returns the final <command/> (the first
        response when no form is submitted), or raises IqError. With
        `at_once`, the form goes with the first request, as scripts send
        it, without asking for the form first."""
        to = to or self.boundjid.domain
        iq = self.Iq()
        iq["type"] = "set"
        iq["to"] = to
        iq["command"]["node"] = node
        if not at_once:
            first = await self.plugin["xep_0050"].send_command(to, node, timeout=WAIT)
            cmd = first["command"]
            if submit is None or cmd["status"] != "executing":
                return cmd
            iq["command"]["sessionid"] = cmd["sessionid"]
            iq["command"]["action"] = "complete"
        else:
            iq["command"]["action"] = "execute"
        form = self.plugin["xep_0004"].make_form(ftype="submit")
        for var, value in (submit or {}).items():
            form.add_field(var=var, value=value)
        iq["command"].append(form)
        result = await iq.send(timeout=WAIT)
        return result["command"]

    def roster_item(self, jid: str) -> dict:
        return dict(self.client_roster[jid]) if jid in self.client_roster else {}

    async def close(self) -> None:
        self.disconnect()
        await asyncio.sleep(0.1)


def form_values(command) -> dict:
    """var -> value of the data form in a <command/>."""
    fields = command["form"]["fields"]
    items = fields.values() if isinstance(fields, dict) else fields
    return {f["var"]: f["value"] for f in items}


class StreamClosed(Exception):
    """The server closed the stream instead of answering."""


class Registrar(slixmpp.ClientXMPP):
    """An unauthenticated client: reads the stream features, presents a
    token with <preauth/> (XEP-0445), then registers (XEP-0077). Stream
    negotiation is held at the registration step until `close()`."""

    def __init__(self, host: str, port: int):
        super().__init__(host, "unused")
        self.port = port
        self.register_plugin("xep_0077")
        self.plugin["xep_0077"].force_registration = True
        self.plugin["feature_mechanisms"].unencrypted_plain = True
        self.enable_starttls = False
        self.enable_direct_tls = False
        self.enable_plaintext = True
        # Before authentication slixmpp holds back stanzas other than its
        # own registration IQs; ours must go out as they are.
        self._always_send_everything = True
        self.features_seen: list[str] = []
        self.registering = asyncio.Event()
        self.finished = asyncio.Event()
        self.gone = asyncio.Event()
        self.add_event_handler("register", self._can_register)
        self.add_event_handler("disconnected", lambda _: self.gone.set())
        self.add_filter("in", self._grab_features)

    def _grab_features(self, stanza):
        if stanza.name == "features" and not self.features_seen:
            self.features_seen = [child.tag for child in stanza.xml]
        return stanza

    async def _can_register(self, _form) -> None:
        self.registering.set()
        await self.finished.wait()

    async def open(self, timeout: float = WAIT) -> "Registrar":
        self.connect("127.0.0.1", self.port)
        await asyncio.wait_for(self.registering.wait(), timeout)
        return self

    async def iq(self, payload, itype: str = "set"):
        """Sends an IQ and waits for its answer, or for the server to close
        the stream (raises StreamClosed)."""
        iq = self.Iq()
        iq["type"] = itype
        iq.append(payload)
        answer = asyncio.ensure_future(iq.send(timeout=WAIT))
        gone = asyncio.ensure_future(self.gone.wait())
        done, _ = await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
        gone.cancel()
        if answer in done:
            return answer.result()
        answer.cancel()
        raise StreamClosed()

    async def preauth(self, token: str) -> tuple[bool, str | None, str | None]:
        el = ET.Element(f"{{{PARS}}}preauth", token=token)
        try:
            await self.iq(el)
            return True, None, None
        except IqError as e:
            return False, e.iq["error"]["condition"], e.iq["error"]["text"]
        except StreamClosed:
            return False, "stream-closed", None

    async def register(self, username: str, password: str = "secret") -> tuple[bool, str | None, str | None]:
        q = ET.Element("{jabber:iq:register}query")
        ET.SubElement(q, "{jabber:iq:register}username").text = username
        ET.SubElement(q, "{jabber:iq:register}password").text = password
        try:
            await self.iq(q)
            return True, None, None
        except IqError as e:
            return False, e.iq["error"]["condition"], e.iq["error"]["text"]
        except (IqTimeout, StreamClosed):
            return False, "no-answer", None

    async def close(self) -> None:
        self.finished.set()
        self.disconnect()
        await asyncio.sleep(0.1)
