"""Races and secrets on a real Prosody with our modules: one single-use
token presented by two sessions at once registers one account; no token
issued in a run appears in what our modules log."""

import asyncio
import re
import time

from conftest import run
from harness import FIXTURES, Registrar
from test_register import BAD_TOKEN, can_login, generate
from test_adhoc import ACCOUNT, forbidden

OUR_LOG_SOURCES = re.compile(r"^\S+ \S+ \S+ \S+:(invites|invites_adhoc|invites_register|easy_invite)\t")


def two_presenters(server, token, register):
    """Two sessions present `token` before either registers (both pass),
    then `register(a, b)` registers them; returns what it returns."""

    async def scenario():
        a = await Registrar("example.com", server.c2s_port).open()
        b = await Registrar("example.com", server.c2s_port).open()
        try:
            assert (await a.preauth(token))[0] and (await b.preauth(token))[0]
            return await register(a, b)
        finally:
            await a.close()
            await b.close()

    return run(scenario())


def test_two_sessions_one_single_use_token(prosody):
    server = prosody()
    token = generate(server)
    # Both register at once.
    results = two_presenters(server, token, lambda a, b: asyncio.gather(a.register("first"), b.register("second")))
    winners = [r for r in results if r[0]]
    losers = [r for r in results if not r[0]]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0][2] == "The invite token is invalid or expired"
    logins = [run(can_login(server, f"{name}@example.com")) for name in ("first", "second")]
    assert sorted(logins) == [False, True]


SLOW = ["invites", "invites_adhoc", "invites_register", "slow_registering"]


def test_single_use_token_when_a_later_handler_yields(prosody):
    # A user-registering handler after ours waits (fixtures/
    # mod_slow_registering.lua), so both sessions pass our gate before
    # either account exists: the claim the first takes refuses the second.
    server = prosody(plugin_paths=[FIXTURES], modules=SLOW)
    token = generate(server)
    results = two_presenters(server, token, lambda a, b: asyncio.gather(a.register("first"), b.register("second")))
    assert sorted(r[0] for r in results) == [False, True], results
    logins = [run(can_login(server, f"{name}@example.com")) for name in ("first", "second")]
    assert sorted(logins) == [False, True]


def test_max_uses_token_when_a_later_handler_yields(prosody):
    # Two uses left, three registrations at once: two accounts.
    server = prosody(plugin_paths=[FIXTURES], modules=SLOW)
    token = "Mx9sT2vR7qLm4KpZ8wYd1eFg"
    server.prosodyctl("shell", (
        '> return require "core.storagemanager".open("example.com", "invite_token", "map"):set(nil, "%s", '
        '{ type = "register", jid = "example.com", token = "%s", allow_registration = true, '
        'uri = "xmpp:example.com?register;preauth=%s", created_at = os.time(), expires = os.time() + 3600, '
        'max_uses = 3, uses = 1 })'
    ) % (token, token, token))

    async def scenario():
        sessions = [await Registrar("example.com", server.c2s_port).open() for _ in range(3)]
        try:
            for s in sessions:
                assert (await s.preauth(token))[0]
            return await asyncio.gather(*(s.register(f"user{i}") for i, s in enumerate(sessions)))
        finally:
            for s in sessions:
                await s.close()

    results = run(scenario())
    assert sorted(r[0] for r in results) == [False, True, True], results
    logins = [run(can_login(server, f"user{i}@example.com")) for i in range(3)]
    assert sorted(logins) == [False, True, True]
    assert token not in server.stored_invites()  # all three uses spent


def test_an_expiry_moved_while_a_registration_completes_stays(prosody):
    # An admin expires a max_uses invite after the gate admitted a
    # registration and before the account exists: the use is counted on
    # the record as stored, and the old expiry does not come back.
    server = prosody(plugin_paths=[FIXTURES], modules=SLOW, config="slow_registering_wait = 3")
    token = "Ex9sT2vR7qLm4KpZ8wYd1eFg"
    store = 'require "core.storagemanager".open("example.com", "invite_token", "map")'
    server.prosodyctl("shell", (
        f'> return {store}:set(nil, "{token}", '
        f'{{ type = "register", jid = "example.com", token = "{token}", allow_registration = true, '
        f'uri = "xmpp:example.com?register;preauth={token}", created_at = os.time(), expires = os.time() + 3600, '
        'max_uses = 3, uses = 0 })'))

    def expire():
        server.prosodyctl("shell", f'>local s = {store} local r = s:get(nil, "{token}") r.expires = os.time() - 1 s:set(nil, "{token}", r)')

    async def scenario():
        r = await Registrar("example.com", server.c2s_port).open()
        try:
            assert (await r.preauth(token))[0]
            registering = asyncio.ensure_future(r.register("first"))
            await asyncio.sleep(1)  # admitted by the gate; the fixture waits
            await asyncio.get_running_loop().run_in_executor(None, expire)
            return await registering
        finally:
            await r.close()

    assert run(scenario())[0]
    assert run(can_login(server, "first@example.com"))
    stored = server.stored_invites()
    expires = int(re.search(r'\["expires"\] = (\d+)', stored).group(1))
    uses = int(re.search(r'\["uses"\] = (\d+)', stored).group(1))
    assert expires < time.time() and uses == 1, stored


def refused_then_another(server, token, refused_name):
    """Two sessions present `token`; the first registers `refused_name`
    (which the fixture refuses), then the second registers "second"."""

    async def register(a, b):
        refused = await a.register(refused_name)
        return refused, await b.register("second")

    return two_presenters(server, token, register)


def test_a_refused_registration_frees_its_claim(prosody):
    # A later handler refuses the first registration: the invite is free
    # again at once, not after the claim's time limit.
    server = prosody(plugin_paths=[FIXTURES], modules=SLOW)
    refused, second = refused_then_another(server, generate(server), "refused-by-fixture")
    assert not refused[0] and "fixture" in refused[2], refused
    assert second[0], second
    assert run(can_login(server, "second@example.com"))


def test_a_registration_refused_before_the_gate_claims_nothing(prosody):
    # A handler before ours refuses and stops the event: the gate never
    # ran, so the other session registers at once.
    server = prosody(plugin_paths=[FIXTURES], modules=SLOW)
    refused, second = refused_then_another(server, generate(server), "refused-early")
    assert not refused[0] and "early" in refused[2], refused
    assert second[0], second


def test_open_registration_and_a_claimed_invite(prosody):
    # Registration is open: the session that finds the invite claimed by
    # another registers as anyone may, without what the invite grants.
    server = prosody(users=["admin@example.com"], plugin_paths=[FIXTURES], modules=SLOW,
                     config="registration_invite_only = false\nallow_registration = true")
    token = generate(server, "--admin")
    results = two_presenters(server, token, lambda a, b: asyncio.gather(a.register("first"), b.register("second")))
    assert all(r[0] for r in results), results
    # One of the two is an admin (the invite's role), the other not.
    assert sorted(forbidden(server, f"{n}@example.com", ACCOUNT) for n in ("first", "second")) == [False, True]


def test_our_modules_never_log_a_token(prosody):
    from test_adhoc import CONTACT, command, token_of
    from harness import form_values
    from test_register import register

    server = prosody(users=["admin@example.com", "alice@example.com"])
    tokens = ["AAAAAAAAAAAAAAAAAAAAAAAA"]
    for name in ("one", "two"):
        tokens.append(generate(server))
        run(register(server, tokens[-1], name))
        run(register(server, tokens[-1], "again"))  # refused, and logged as such
    run(register(server, tokens[0], "nobody"))
    tokens.append(token_of(form_values(run(command(server, "alice@example.com", CONTACT)))["uri"]))
    log = server.log_text()
    ours = [line for line in log.splitlines() if OUR_LOG_SOURCES.match(line)]
    assert ours, "our modules logged nothing at all: the check would prove nothing"
    leaks = [line for line in ours for t in tokens if t in line]
    assert not leaks, leaks[:3]


def test_tokens_hashed_at_rest(prosody):
    from harness import Client, form_values
    from test_adhoc import CONTACT, command, token_of
    from test_register import register
    from test_subscription import subscribe_with_token, subscription, until

    server = prosody(users=["admin@example.com", "alice@example.com", "bob@example.com"],
                     config="invites_hash_tokens = true")
    account = generate(server)
    contact = token_of(form_values(run(command(server, "alice@example.com", CONTACT)))["uri"])
    with_ibr = token_of(form_values(run(command(server, "admin@example.com", CONTACT)))["uri"])
    stored = "".join(p.read_text(errors="replace") for p in server.data_dir.rglob("*.dat"))
    assert "sha256:" in stored
    for token in (account, contact, with_ibr):
        assert token not in stored
    # Everything works as before.
    assert run(register(server, account, "hashed1"))[1][0]
    assert run(register(server, with_ibr, "hashed2"))[1][0]
    # Contact-only: no registration, refused at preauth.
    assert run(register(server, contact, "hashed3")) == ("preauth", (False, "forbidden", BAD_TOKEN))

    async def subscribe():
        bob = await Client("bob@example.com", "secret", server.c2s_port).online()
        try:
            subscribe_with_token(bob, "alice@example.com", contact)
            return await until(lambda: subscription(bob, "alice@example.com") in ("to", "both"))
        finally:
            await bob.close()

    assert run(subscribe())
    # Spent: nothing of these invites is left in storage.
    stored = "".join(p.read_text(errors="replace") for p in server.data_dir.rglob("*.dat"))
    assert stored.count("sha256:") == 0, stored


def test_open_registration_survives_a_spent_invite(prosody):
    """With registration_invite_only = false, an invite spent between a
    session's preauth and its registration is no reason to refuse: the
    registration goes on as an open one, and gets nothing of the invite."""
    from harness import form_values
    from test_adhoc import CONTACT, command, token_of

    server = prosody(users=["admin@example.com"],
                     config="registration_invite_only = false\nallow_registration = true")
    # Registers and becomes the admin's contact.
    uri = form_values(run(command(server, "admin@example.com", CONTACT)))["uri"]
    assert uri.endswith(";ibr=y")
    token = token_of(uri)

    async def one_then_the_other(a, b):
        return await a.register("first"), await b.register("second")

    first, second = two_presenters(server, token, one_then_the_other)
    assert first[0] and second[0], (first, second)
    for name in ("first", "second"):
        assert run(can_login(server, f"{name}@example.com"))
    # Only the invite's user became the admin's contact.
    roster = "".join(p.read_text() for p in server.data_dir.rglob("roster/admin.dat"))
    assert '"first@example.com"' in roster and '"second@example.com"' not in roster, roster
    assert not list(server.data_dir.rglob("roster/second.dat"))
