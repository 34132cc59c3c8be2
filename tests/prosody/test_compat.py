"""Switching from stock Prosody's invite modules (0.12.3, or 13.0.1 under
tests/prosody/prosody13.sh) to ours and back loses nothing: each reads the
invites the other wrote."""

import asyncio
import re

import pytest

from conftest import run
from harness import PROSODY_13, PROSODY_VERSION, Client, form_values
from test_adhoc import ACCOUNT, CONTACT, token_of
from test_register import can_login, generate, register, stock_generate
from test_subscription import subscribe_with_token, subscription, until

USERS = ["admin@example.com", "alice@example.com", "bob@example.com"]


async def contact_invite(server, jid):
    c = await Client(jid, "secret", server.c2s_port).online()
    try:
        return form_values(await c.command(CONTACT))["uri"]
    finally:
        await c.close()


async def account_invite(server, jid="admin@example.com"):
    """The account invite command's result form, run as `jid`."""
    c = await Client(jid, "secret", server.c2s_port).online()
    try:
        cmd = await c.command(ACCOUNT)
        return form_values(cmd)
    finally:
        await c.close()


async def subscribe(server, who, to, token, password="secret"):
    c = await Client(who, password, server.c2s_port).online()
    try:
        subscribe_with_token(c, to, token)
        return await until(lambda: subscription(c, to) in ("to", "both"))
    finally:
        await c.close()


def is_admin(server, jid) -> bool:
    """Whether the account may run the admin-only account invite command."""
    return run(account_invite(server, jid))["uri"].startswith("xmpp:example.com?register")


def test_stock_to_ours_and_back(prosody):
    server = prosody(users=USERS, ours=False)
    # Stock Prosody writes invites of every kind it has.
    stock_account = stock_generate(server)
    stock_admin = stock_generate(server, "--admin")
    stock_reset = stock_generate(server, "--reset", "bob")
    stock_contact_only = token_of(run(contact_invite(server, "alice@example.com")))
    stock_contact_ibr = token_of(run(contact_invite(server, "admin@example.com")))
    stock_form = run(account_invite(server))
    # (Stock's account invite form has no FORM_TYPE; ours has.)
    assert "FORM_TYPE" not in stock_form
    stock_account2 = token_of(stock_form["uri"])

    server.stop()
    server.ours = True
    server.start()
    # Ours honours every one of them.
    assert run(register(server, stock_account, "s1"))[1][0]
    assert run(register(server, stock_admin, "s2"))[1][0]
    assert is_admin(server, "s2@example.com")
    assert run(register(server, stock_reset, "bob", "reset-by-ours"))[1][0]
    assert run(can_login(server, "bob@example.com", "reset-by-ours"))
    # Stock 0.12.3 itself fails on this one (a Lua error in get()).
    assert run(subscribe(server, "bob@example.com", "alice@example.com", stock_contact_only, "reset-by-ours"))
    assert run(register(server, stock_contact_ibr, "s3"))[1][0]
    # Ours writes its own, and leaves one of stock's pending.
    ours_account = generate(server)
    ours_admin = generate(server, "--admin")
    ours_contact_ibr = token_of(run(contact_invite(server, "admin@example.com")))
    ours_contact_only = token_of(run(contact_invite(server, "alice@example.com")))

    server.stop()
    server.ours = False
    server.start()
    # Stock reads ours, and stock's own pending invite survived the visit.
    assert run(register(server, ours_account, "o1"))[1][0]
    assert run(register(server, ours_admin, "o2"))[1][0]
    assert is_admin(server, "o2@example.com")
    assert run(register(server, ours_contact_ibr, "o3"))[1][0]
    assert run(register(server, stock_account2, "s4"))[1][0]
    for name in ("s1", "s2", "s3", "s4", "o1", "o2", "o3"):
        assert run(can_login(server, f"{name}@example.com"))

    # And back to ours: the contact-only invite ours wrote is still good.
    server.stop()
    server.ours = True
    server.start()
    assert run(subscribe(server, "s1@example.com", "alice@example.com", ours_contact_only))


def test_stock_invites_with_a_fractional_expiry(prosody):
    # invite_expiry = 1000/3 makes stock store os.time() + ttl as a float.
    # (Stock's own ad-hoc commands then fail formatting that expiry, so
    # prosodyctl is how stock makes such an invite.)
    server = prosody(users=USERS, ours=False, config="invite_expiry = 1000/3")
    token = stock_generate(server)
    stored = server.stored_invites()
    assert re.search(r"expires\W+\d{10}\.\d", stored), stored
    server.stop()
    server.ours = True
    server.start()
    # Ours reads it, the fraction of a second dropped, and it works.
    assert run(register(server, token, "frac"))[1][0]
    assert run(can_login(server, "frac@example.com"))


def store_record(server, token, fields, user_entry=None):
    """Writes a host-level record (Lua table fields) under `token`, and the
    inviter's user-level entry when `user_entry` names the inviter, as
    stock's storage calls do."""
    lua = (
        'local s = require "core.storagemanager".open("example.com", "invite_token", "map"); '
        f's:set(nil, "{token}", {{ token = "{token}", created_at = os.time(), expires = os.time() + 3600, {fields} }}); '
    )
    if user_entry:
        lua += f's:set("{user_entry}", "{token}", os.time() + 3600); '
    server.prosodyctl("shell", f"> {lua}return true")


def test_stock_13_allow_registration_strings(prosody):
    # Stock 13's `invite create_contact JID --allow-registration=VALUE`
    # stores VALUE as typed: a string. "yes" registers (and makes the two
    # contacts), "no" does not but still pre-approves; a record the core
    # cannot read at all does not switch off username reservations.
    server = prosody(users=USERS)
    yes, no, odd = "Ys9sT2vR7qLm4KpZ8wYd1eFg", "No9sT2vR7qLm4KpZ8wYd1eFg", "Od9sT2vR7qLm4KpZ8wYd1eFg"
    roster = 'type = "roster", jid = "alice@example.com", uri = "xmpp:alice@example.com?roster"'
    store_record(server, yes, roster + ', allow_registration = "yes"', user_entry="alice")
    store_record(server, no, roster + ', allow_registration = "no"', user_entry="alice")
    store_record(server, odd, 'type = "weird", jid = "example.com"')
    bound = server.prosodyctl("shell", "invite:create_account('juliet@example.com')").stdout
    assert "preauth=" in bound
    open_invite = generate(server)

    assert run(register(server, yes, "viayes"))[1][0]
    assert run(until_contacts(server, "viayes@example.com", "alice@example.com"))
    step, result = run(register(server, no, "viano"))
    assert step == "preauth" and not result[0], (step, result)
    assert run(subscribe(server, "bob@example.com", "alice@example.com", no))
    step, (ok, condition, text) = run(register(server, open_invite, "juliet"))
    assert (ok, condition, text) == (False, "not-allowed", "Username is reserved")


async def until_contacts(server, who, other):
    c = await Client(who, "secret", server.c2s_port).online()
    try:
        return await until(lambda: subscription(c, other) == "both")
    finally:
        await c.close()


@pytest.mark.skipif(not PROSODY_13, reason=f"stock Prosody 13's invite_expiry = \"never\"; this is {PROSODY_VERSION} (tests/prosody/prosody13.sh runs it)")
def test_stock_13_never_expiring_invites(prosody):
    # Stock 13 stores expires = math.huge for invite_expiry = "never".
    server = prosody(users=USERS, ours=False, config='invite_expiry = "never"')
    token = stock_generate(server)
    stored = server.stored_invites()
    assert "(1/0)" in stored, stored
    server.stop()
    server.ours = True
    server.start()
    listing = server.prosodyctl("shell", "invite", "list", "example.com").stdout
    assert f"{token}  Invitation to register on example.com  expires never" in listing, listing
    assert run(register(server, token, "forever"))[1][0]
    assert run(can_login(server, "forever@example.com"))


def test_a_host_the_core_refuses_fails_at_load(prosody):
    # Prosody's nameprep takes "my_host.local"; RFC 7622 (and the core) do
    # not. Our modules refuse to load there, saying why, rather than fail
    # on every invite (mod_easy_invite raised a Lua error on every command).
    why = r'mod_invites\.lua:\d+: cannot serve my_host\.local: the host "my_host\.local" is not a valid XMPP domain'
    for modules in (["invites", "invites_adhoc", "invites_register"], ["invites", "easy_invite"]):
        server = prosody(hosts=("my_host.local",), modules=modules)
        for name in modules:
            assert server.wait_for_log(rf"Error initializing module '{name}' on 'my_host.local': .*{why}"), name
        server.stop()
