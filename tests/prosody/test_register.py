"""XEP-0445 pre-authenticated registration on a real Prosody with our
modules: stream features, the <preauth/> IQ, the registration gate."""

import asyncio
import time

from conftest import OURS, run
from harness import FIXTURES, PROSODY_13, WAIT, Client, Registrar, lua_module_dir

INVITE_ONLY = "Registration on this server is through invitation only"
BAD_TOKEN = "The invite token is invalid or expired"


def generate(server, *args) -> str:
    """prosodyctl mod_invites generate: the printed URI's token."""
    out = server.prosodyctl("mod_invites", "generate", "example.com", *args).stdout
    uri = [line for line in out.splitlines() if line.startswith(("xmpp:", "http"))][-1]
    return uri.split("preauth=")[1].split(";")[0] if "preauth=" in uri else uri.rsplit("?", 1)[1]


def stock_generate(server, *args) -> str:
    """An account invite (or with "--reset USER" a reset) from stock's
    command line: 0.12's generate, which 13 replaced with shell commands."""
    if not PROSODY_13:
        return generate(server, *args)
    if args[:1] == ("--reset",):
        command = ["create_reset", f"{args[1]}@example.com"]
    else:
        # Stock 13.0.1 declares no --admin flag, so it refuses it.
        command = ["create_account", "example.com", *(["--role", "prosody:admin"] if "--admin" in args else [])]
    out = server.prosodyctl("shell", "invite", *command).stdout
    return out.split("preauth=")[1].split(";")[0].split()[0]


async def register(server, token, username, password="secret"):
    r = await Registrar("example.com", server.c2s_port).open()
    try:
        pre = await r.preauth(token) if token is not None else (True, None, None)
        if not pre[0]:
            return "preauth", pre
        return "register", await r.register(username, password)
    finally:
        await r.close()


async def can_login(server, jid, password="secret") -> bool:
    c = Client(jid, password, server.c2s_port)
    try:
        await c.online()
        return True
    except RuntimeError:
        return False
    finally:
        await c.close()


def raw_stream_features(port: int) -> str:
    """The stream features Prosody offers an unauthenticated, unencrypted
    stream, read from a plain socket (no client library negotiates here)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(b"<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client' "
                     b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
        data = b""
        while b"</stream:features>" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    assert b"</stream:features>" in data, data
    return data.decode()


def test_no_invite_features_on_unencrypted_streams_when_encryption_is_required(prosody):
    # Tokens are secrets: with c2s_require_encryption (Prosody's default)
    # a plain-text stream is not told it may present one.
    import subprocess

    from conftest import OURS

    server = prosody(require_encryption=True, modules=[*OURS, "tls"])
    # A certificate, so that the stream has something to go on with
    # (STARTTLS); without one Prosody ends it before any features.
    server.stop()
    certs = server.workdir / "certs"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=example.com", "-keyout", str(certs / "example.com.key"),
                    "-out", str(certs / "example.com.crt")], check=True, capture_output=True)
    server.start()
    features = raw_stream_features(server.c2s_port)
    assert "urn:ietf:params:xml:ns:xmpp-tls" in features, features
    assert "urn:xmpp:ibr-token:0" not in features and "urn:xmpp:invite" not in features, features
    # The same check sees them when encryption is not required.
    features = raw_stream_features(prosody().c2s_port)
    assert "urn:xmpp:ibr-token:0" in features and "urn:xmpp:invite" in features, features


def test_stream_features_and_registration(prosody):
    server = prosody()

    async def scenario():
        r = await Registrar("example.com", server.c2s_port).open()
        features = r.features_seen
        await r.close()
        return features

    features = run(scenario())
    assert "{urn:xmpp:ibr-token:0}register" in features
    assert "{urn:xmpp:invite}register" in features

    token = generate(server)
    assert run(register(server, token, "Juliet")) == ("register", (True, None, None))
    assert run(can_login(server, "juliet@example.com"))
    # Single use: the token is spent.
    step, (ok, condition, text) = run(register(server, token, "romeo"))
    assert (step, ok, condition, text) == ("preauth", False, "forbidden", BAD_TOKEN)


def test_plain_registration_is_refused_when_invite_only(prosody):
    server = prosody()
    step, (ok, condition, text) = run(register(server, None, "mallory"))
    assert (ok, condition, text) == (False, "not-acceptable", INVITE_ONLY)
    assert not run(can_login(server, "mallory@example.com"))


def test_open_registration_still_honours_reservations(prosody):
    server = prosody(config="registration_invite_only = false\nallow_registration = true")
    bound = server.prosodyctl("shell", "invite:create_account('juliet@example.com')").stdout
    assert "preauth=" in bound
    # Anyone may register, but not the name a pending invite holds.
    assert run(register(server, None, "romeo"))[1][0]
    step, (ok, condition, text) = run(register(server, None, "juliet"))
    assert (ok, condition, text) == (False, "not-allowed", "Username is reserved")


def test_bound_username_is_enforced(prosody):
    server = prosody()
    out = server.prosodyctl("shell", "invite:create_account('juliet@example.com')").stdout
    token = out.split("preauth=")[1].split()[0]
    step, (ok, condition, text) = run(register(server, token, "mallory"))
    assert (step, ok, condition, text) == ("register", False, "not-acceptable",
                                           "The chosen username is not valid with this invitation")
    assert not run(can_login(server, "mallory@example.com"))
    # The bound name registers, and the token is then spent.
    assert run(register(server, token, "Juliet"))[1][0]
    assert run(can_login(server, "juliet@example.com"))
    assert run(register(server, token, "juliet2"))[0] == "preauth"


def test_expired_invite(prosody):
    server = prosody()
    token = generate(server, "--expires-after", "1 s")
    time.sleep(2.2)
    step, (ok, condition, text) = run(register(server, token, "late"))
    assert (step, ok, condition, text) == ("preauth", False, "forbidden", BAD_TOKEN)


def present_then_register(server, token, username, meanwhile):
    """Presents token, runs meanwhile() (seconds to sleep, or a function),
    then registers on the same stream: (preauth result, register result)."""

    async def scenario():
        r = await Registrar("example.com", server.c2s_port).open()
        try:
            presented = await r.preauth(token)
            if callable(meanwhile):
                meanwhile()
            else:
                await asyncio.sleep(meanwhile)
            return presented, await r.register(username, "secret")
        finally:
            await r.close()

    return run(scenario())


def test_an_invite_presented_in_time_registers_after_it_expires(prosody):
    # XEP-0445 checks the expiry when the token is presented; the gate reads
    # the invite again to see whether it was used or deleted since.
    server = prosody()
    token = generate(server, "--expires-after", "3 s")
    presented, registered = present_then_register(server, token, "late", 4)
    assert presented == (True, None, None)
    assert registered == (True, None, None)
    assert run(can_login(server, "late@example.com"))
    # Spent, and expired for anyone who presents it now.
    step, (ok, condition, text) = run(register(server, token, "later"))
    assert (step, ok, condition, text) == ("preauth", False, "forbidden", BAD_TOKEN)


def test_the_grace_after_presentation_is_bounded(prosody):
    # invite_presentation_grace (here a period): past it, the expiry is
    # judged at the registration again.
    server = prosody(host_config='invite_presentation_grace = "1 s"')
    token = generate(server, "--expires-after", "3 s")
    presented, registered = present_then_register(server, token, "late", 4)
    assert presented == (True, None, None)
    assert registered == (False, "not-acceptable", BAD_TOKEN)
    assert not run(can_login(server, "late@example.com"))


def test_a_bad_presentation_grace_is_logged_and_the_default_applies(prosody):
    server = prosody(host_config="invite_presentation_grace = false")
    assert server.wait_for_log(r"invite_presentation_grace must be 0 or more seconds, or a period; using 600")
    token = generate(server, "--expires-after", "3 s")
    presented, registered = present_then_register(server, token, "late", 4)
    assert (presented, registered) == ((True, None, None), (True, None, None))


def test_an_expiry_an_admin_moved_is_judged_at_once(prosody):
    server = prosody()
    token = generate(server)

    def expire_now():
        # What `expire` does to a record, from Prosody's own shell, to an
        # expiry after the presentation (so that judging it as at the
        # presentation would let the registration through).
        time.sleep(2)
        server.prosodyctl("shell", ">local s = require 'core.storagemanager'.open('example.com', 'invite_token', 'map') "
                          f"local r = s:get(nil, '{token}') r.expires = os.time() - 1 s:set(nil, '{token}', r)")

    presented, registered = present_then_register(server, token, "late", expire_now)
    assert presented == (True, None, None)
    assert registered == (False, "not-acceptable", BAD_TOKEN)
    assert not run(can_login(server, "late@example.com"))


def test_made_up_malformed_and_enormous_tokens(prosody):
    server = prosody()
    for token in ["", "AAAAAAAAAAAAAAAAAAAAAAAA", "short", "a+b/c=d+e/f=g+h/i=", "\u00e9" * 30, "x" * 5_000]:
        step, (ok, condition, text) = run(register(server, token, "mallory"))
        assert (step, ok, condition, text) == ("preauth", False, "forbidden", BAD_TOKEN), token[:20]
    # Past Prosody's stanza size limit for unauthenticated streams the
    # server closes the stream itself; either way nothing registers.
    step, (ok, condition, text) = run(register(server, "x" * 100_000, "mallory"))
    assert step == "preauth" and not ok and condition in ("forbidden", "stream-closed")
    assert server.running()
    # The server still serves real invites.
    assert run(register(server, generate(server), "juliet"))[1][0]


def test_password_reset(prosody):
    server = prosody(users=["romeo@example.com"])
    out = server.prosodyctl("mod_invites", "generate", "example.com", "--reset", "romeo").stdout
    token = out.split("preauth=")[1].split()[0]
    # A reset never creates an account, nor resets another one.
    step, (ok, condition, text) = run(register(server, token, "mallory"))
    assert (ok, text) == (False, "Incorrect username for password reset")
    assert run(register(server, token, "romeo", "new-password"))[1] == (True, None, None)
    assert run(can_login(server, "romeo@example.com", "new-password"))
    assert not run(can_login(server, "romeo@example.com", "secret"))
    # Spent.
    assert run(register(server, token, "romeo", "again"))[0] == "preauth"

    # A reset invite for a name without an account creates nothing.
    out = server.prosodyctl("mod_invites", "generate", "example.com", "--reset", "ghost").stdout
    token = out.split("preauth=")[1].split()[0]
    step, (ok, condition, text) = run(register(server, token, "ghost"))
    assert ok is False and "cannot create a new one" in text
    assert not run(can_login(server, "ghost@example.com"))


def test_invite_written_while_running_is_seen_at_once(prosody):
    # No cache: prosodyctl writes to storage behind the running server.
    server = prosody()
    for name in ["a1", "a2", "a3"]:
        assert run(register(server, generate(server), name))[1][0]


def test_other_modules_see_the_invite_after_registration(prosody):
    # Stock leaves the invite on the session after user-registered, and
    # modules such as prosody-modules' mod_invites_tracking read it there in
    # their own handler, which may run after ours.
    server = prosody(plugin_paths=[FIXTURES], modules=[*OURS, "invite_observer"])
    token = generate(server)
    assert run(register(server, token, "tracked"))[1][0]
    seen = (server.data_dir / "example%2ecom" / "invite_observer" / "tracked.dat").read_text()
    assert f'["token"] = "{token}"' in seen, seen
    # And it was spent once: the same token registers nobody else.
    assert run(register(server, token, "again"))[0] == "preauth"
    # Without an invite there is none to see (open registration).
    server.stop()
    server.config = "registration_invite_only = false\nallow_registration = true"
    server.start()
    assert run(register(server, None, "walkin"))[1][0]
    seen = (server.data_dir / "example%2ecom" / "invite_observer" / "walkin.dat").read_text()
    assert '["token"] = "none"' in seen, seen


def test_the_library_from_xmpp_invites_library(prosody):
    # Not on package.cpath: the modules load the core from the configured
    # path, and work together (the gate reads the invite mod_invites got).
    library = lua_module_dir() / "xmpp_invites.so"
    server = prosody(cpath=False, config=f'xmpp_invites_library = "{library}"')
    assert run(register(server, generate(server), "frompath"))[1][0]
    assert run(can_login(server, "frompath@example.com"))
    # A wrong path: each module fails to load, saying which path.
    server.stop()
    server.config = 'xmpp_invites_library = "/nonexistent/xmpp_invites.so"'
    server.start()
    assert server.wait_for_log(r"Error initializing module 'invites' on 'example.com': .*"
                               r"xmpp_invites_library: cannot load /nonexistent/xmpp_invites\.so")
