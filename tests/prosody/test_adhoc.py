"""The ad-hoc invite commands (XEP-0050, XEP-0401) of our
mod_invites_adhoc on a real Prosody, driven by slixmpp."""

import re

from conftest import run
from harness import Client, form_values
from test_register import can_login, register

INVITATION = "urn:xmpp:invite#invitation"
CONTACT = "urn:xmpp:invite#invite"
ACCOUNT = "urn:xmpp:invite#create-account"
RESET = "xmpp:prosody.im/mod_invites_adhoc#password-reset"
USERS = ["admin@example.com", "alice@example.com", "bob@other.example"]


def token_of(text: str) -> str:
    """The preauth token in a URI (or in text holding one)."""
    return re.search(r"preauth=([A-Za-z0-9_-]+)", text).group(1)


async def command(server, jid, node, to="example.com", submit=None):
    c = await Client(jid, "secret", server.c2s_port).online()
    try:
        return await c.command(node, to=to, submit=submit)
    finally:
        await c.close()


def note(cmd) -> str:
    return cmd.xml.find("{http://jabber.org/protocol/commands}note").text


def test_every_kind_through_its_command(prosody):
    server = prosody(users=USERS,
                     config='invites_page = "https://{host}/invite?{invite.token}"')

    # A local user's contact invite: contact-only (allow_user_invites is false).
    cmd = run(command(server, "alice@example.com", CONTACT))
    values = form_values(cmd)
    assert cmd["status"] == "completed"
    assert values["FORM_TYPE"] in (INVITATION, [INVITATION])
    assert values["uri"].startswith("xmpp:alice@example.com?roster;preauth=")
    assert ";ibr=y" not in values["uri"]
    assert values["expire"].endswith("Z")
    assert values["landing-url"] == "https://example.com/invite?" + token_of(values["uri"])

    # An admin's contact invite also lets the invitee register.
    values = form_values(run(command(server, "admin@example.com", CONTACT)))
    assert values["uri"].endswith(";ibr=y")
    assert run(register(server, token_of(values["uri"]), "carol"))[1][0]

    # An account invite from an admin: answered at once, with FORM_TYPE.
    cmd = run(command(server, "admin@example.com", ACCOUNT))
    values = form_values(cmd)
    assert cmd["status"] == "completed"
    assert values["FORM_TYPE"] in (INVITATION, [INVITATION])
    assert values["uri"].startswith("xmpp:example.com?register;preauth=")
    assert run(register(server, token_of(values["uri"]), "dave"))[1][0]

    # A password reset, through its form.
    first = run(command(server, "admin@example.com", RESET))
    assert first["status"] == "executing"
    cmd = run(command(server, "admin@example.com", RESET, submit={"accountjid": "dave@example.com"}))
    values = form_values(cmd)
    assert values["uri"].startswith("xmpp:dave@example.com?register;preauth=")
    assert run(register(server, token_of(values["uri"]), "dave", "changed"))[1][0]
    assert run(can_login(server, "dave@example.com", "changed"))


def test_refusals_by_policy(prosody):
    server = prosody(users=USERS)
    # A user asking for an account invite.
    cmd = run(command(server, "alice@example.com", ACCOUNT))
    assert note(cmd) == "only admins may create account invites"
    assert "form" not in cmd.xml.attrib and cmd.xml.find("{jabber:x:data}x") is None
    cmd = run(command(server, "alice@example.com", RESET))
    assert note(cmd) == "only admins may create password reset invites"
    # Another host's user.
    cmd = run(command(server, "bob@other.example", CONTACT))
    assert note(cmd) == "This command is only available to users of example.com"
    # A reset for an account that does not exist.
    cmd = run(command(server, "admin@example.com", RESET, submit={"accountjid": "ghost@example.com"}))
    assert note(cmd) == "There is no account ghost@example.com"


def test_contact_invites_can_be_admin_only(prosody):
    server = prosody(users=USERS, config="allow_contact_invites = false")
    cmd = run(command(server, "alice@example.com", CONTACT))
    assert note(cmd) == "allow_contact_invites is disabled"
    assert form_values(run(command(server, "admin@example.com", CONTACT)))["uri"].endswith(";ibr=y")


def test_user_invites_by_role_and_setting(prosody):
    server = prosody(users=USERS, config="allow_user_invites = true")
    values = form_values(run(command(server, "alice@example.com", CONTACT)))
    assert values["uri"].endswith(";ibr=y")
    assert run(register(server, token_of(values["uri"]), "erin"))[1][0]


def test_account_command_can_ask_for_a_username(prosody):
    server = prosody(users=USERS, config="invites_adhoc_ask_username = true")
    first = run(command(server, "admin@example.com", ACCOUNT))
    assert first["status"] == "executing"
    fields = first["form"]["fields"]
    fields = fields.values() if isinstance(fields, dict) else fields
    by_var = {f["var"]: f for f in fields}
    assert by_var["username"]["type"] == "text-single" and by_var["username"]["required"]
    assert by_var["roster-subscription"]["type"] == "boolean"
    cmd = run(command(server, "admin@example.com", ACCOUNT, submit={"username": "Juliet"}))
    uri = form_values(cmd)["uri"]
    assert uri.startswith("xmpp:juliet@example.com?register;preauth=")
    assert not run(register(server, token_of(uri), "mallory"))[1][0]
    assert run(register(server, token_of(uri), "juliet"))[1][0]
    # A username is required here.
    cmd = run(command(server, "admin@example.com", ACCOUNT, submit={"username": ""}))
    assert "username" in note(cmd)
