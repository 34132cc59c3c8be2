"""XEP-0379 pre-approved subscriptions and the mutual subscription after a
contact invite is used to register, on a real Prosody with our modules."""

import asyncio

from conftest import run
from harness import PARS, WAIT, Client, form_values
from slixmpp.xmlstream import ET
from test_adhoc import CONTACT, token_of
from test_register import register

USERS = ["admin@example.com", "alice@example.com", "bob@example.com", "carol@other.example"]


async def until(predicate, timeout=WAIT):
    """Waits until predicate() is true; returns whether it became true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


def subscribe_with_token(client, to, token):
    p = client.make_presence(pto=to, ptype="subscribe")
    p.append(ET.Element(f"{{{PARS}}}preauth", token=token))
    p.send()


async def settled(client):
    """Returns once the server has answered a ping from client: whatever
    it sent the client before (an approval, a roster push) has arrived."""
    await client.plugin["xep_0199"].ping(jid=client.boundjid.domain, timeout=WAIT)


def approved(client, jid) -> bool:
    """Whether jid approved client's subscription, as far as client heard."""
    return subscription(client, jid) in ("to", "both") or any(
        p["type"] == "subscribed" and p["from"].bare == jid for p in client.presences)


def subscription(client, jid):
    return client.client_roster[jid]["subscription"] if jid in client.client_roster else None


def test_contact_only_token_in_a_subscribe_presence(prosody):
    server = prosody(users=USERS)

    async def scenario():
        alice = await Client("alice@example.com", "secret", server.c2s_port).online()
        bob = await Client("bob@example.com", "secret", server.c2s_port).online()
        carol = await Client("carol@other.example", "secret", server.c2s_port).online()
        alice.auto_authorize = False  # an ordinary request must stay a request
        try:
            uri = form_values(await alice.command(CONTACT))["uri"]
            assert ";ibr=y" not in uri  # contact-only
            token = token_of(uri)

            # Bob answers Alice's request for the way back by hand, so that
            # what he hears first comes from the approval alone.
            bob.auto_authorize = None  # slixmpp: neither accept nor deny
            subscribe_with_token(bob, "alice@example.com", token)
            # Bob hears "subscribed" from Alice, then her presence (she is
            # online), and her request for the way back.
            assert await until(lambda: any(
                p["type"] == "subscribed" and p["from"].bare == "alice@example.com" for p in bob.presences))
            assert await until(lambda: any(
                p["type"] == "available" and p["from"] == alice.boundjid for p in bob.presences)), [
                (p["type"], str(p["from"])) for p in bob.presences]
            assert await until(lambda: any(
                p["type"] == "subscribe" and p["from"].bare == "alice@example.com" for p in bob.presences))
            bob.send_presence(pto="alice@example.com", ptype="subscribed")
            # Both end up mutual.
            assert await until(lambda: subscription(alice, "bob@example.com") == "both"
                               and subscription(bob, "alice@example.com") == "both"), (
                subscription(alice, "bob@example.com"), subscription(bob, "alice@example.com"))

            # The token is spent: Carol's request is an ordinary one.
            subscribe_with_token(carol, "alice@example.com", token)
            assert await until(lambda: any(
                p["type"] == "subscribe" and p["from"].bare == "carol@other.example" for p in alice.presences))
            await settled(carol)
            assert not approved(carol, "alice@example.com")

            # A made-up token is an ordinary request too: delivered to Bob,
            # not approved for him.
            bob.auto_authorize = False
            subscribe_with_token(carol, "bob@example.com", "AAAAAAAAAAAAAAAAAAAAAAAA")
            assert await until(lambda: any(
                p["type"] == "subscribe" and p["from"].bare == "carol@other.example" for p in bob.presences))
            await settled(carol)
            assert not approved(carol, "bob@example.com")
        finally:
            for c in (alice, bob, carol):
                await c.close()

    run(scenario())


def test_account_and_contact_registration_makes_mutual_contacts(prosody):
    server = prosody(users=USERS)

    async def scenario():
        admin = await Client("admin@example.com", "secret", server.c2s_port).online()
        try:
            uri = form_values(await admin.command(CONTACT))["uri"]
            assert uri.endswith(";ibr=y")
            assert (await register(server, token_of(uri), "newbie"))[1][0]
            # The inviter is pushed the new contact, subscription both.
            assert await until(lambda: subscription(admin, "newbie@example.com") == "both")
            newbie = await Client("newbie@example.com", "secret", server.c2s_port).online()
            try:
                assert subscription(newbie, "admin@example.com") == "both"
            finally:
                await newbie.close()
        finally:
            await admin.close()

    run(scenario())


def test_contact_token_while_the_inviter_is_offline(prosody):
    server = prosody(users=USERS)

    async def scenario():
        alice = await Client("alice@example.com", "secret", server.c2s_port).online()
        try:
            token = token_of(form_values(await alice.command(CONTACT))["uri"])
        finally:
            await alice.close()
        bob = await Client("bob@example.com", "secret", server.c2s_port).online()
        bob.auto_authorize = None
        try:
            subscribe_with_token(bob, "alice@example.com", token)
            # Approved though Alice is away: "subscribed", her absence, and
            # her request for the way back, which waits for Bob.
            for kind in ("subscribed", "unavailable", "subscribe"):
                assert await until(lambda: any(
                    p["type"] == kind and p["from"].bare == "alice@example.com" for p in bob.presences)), (
                    kind, [(p["type"], str(p["from"])) for p in bob.presences])
            assert await until(lambda: subscription(bob, "alice@example.com") == "to")
        finally:
            await bob.close()

    run(scenario())
