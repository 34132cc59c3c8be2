"""What our modules call per invite to create it, link it, log it and
validate it takes the Lua module's fast path (the raw C API;
crates/xmpp-invites-lua/src/fast.rs), which is what benches/README.md
times (the registration gate's own calls stay on mlua): with
XMPP_INVITES_LUA_FAST_ONLY set, a call that the fast path hands on to the
mlua implementation raises instead, in the server and in prosodyctl
alike."""

import re

import pytest
from conftest import run
from harness import Client, form_values
from test_adhoc import CONTACT, token_of
from test_register import can_login, register
from test_subscription import approved, subscribe_with_token, until

FAST_ONLY = {"XMPP_INVITES_LUA_FAST_ONLY": "1"}
PAGE = 'invites_page = "https://{host}/invite?{invite.token}"'


@pytest.mark.parametrize("supports", ["", 'invites_page_supports = { "account", "contact-only" }'])
def test_the_calls_per_invite_stay_on_the_fast_path(prosody, supports):
    server = prosody(users=["alice@example.com"], config=f"{PAGE}\n{supports}", environment=FAST_ONLY)

    # An account invite from the command line: create, its landing link.
    out = server.prosodyctl("mod_invites", "generate", "example.com").stdout
    link = re.search(r"https://example\.com/invite\?([A-Za-z0-9_-]+)", out)
    assert link, out
    # Registration with it: the token's shape, validate, the gate, use.
    assert run(register(server, link.group(1), "juliet")) == ("register", (True, None, None))
    assert run(can_login(server, "juliet@example.com"))

    # A contact invite from a user (ad-hoc), then a subscription with it:
    # validate against the inviter's entry.
    async def scenario():
        alice = await Client("alice@example.com", "secret", server.c2s_port).online()
        juliet = await Client("juliet@example.com", "secret", server.c2s_port).online()
        try:
            values = form_values(await alice.command(CONTACT))
            assert values.get("landing-url", "").startswith("https://example.com/invite?"), values
            subscribe_with_token(juliet, "alice@example.com", token_of(values["uri"]))
            return await until(lambda: approved(juliet, "alice@example.com"))
        finally:
            await alice.close()
            await juliet.close()

    assert run(scenario())
    assert "XMPP_INVITES_LUA_FAST_ONLY" not in server.log_text()


def test_a_call_the_fast_path_hands_on_raises_with_fast_only(prosody):
    # The check above can fail: a landing link for a type the page does not
    # support is a slow-path call (an unknown name is an error only the
    # mlua implementation gives), and the server logs the raised error.
    server = prosody(config=f'{PAGE}\ninvites_page_supports = {{ "account", "nosuch" }}', environment=FAST_ONLY)
    out = server.prosodyctl("mod_invites", "generate", "example.com", check=False)
    assert "XMPP_INVITES_LUA_FAST_ONLY: the fast path of 'landing_link' handed this call on" in (
        out.stdout + out.stderr + server.log_text())
