"""The ad-hoc invite commands (XEP-0050, XEP-0401) of our
mod_invites_adhoc on a real Prosody, driven by slixmpp."""

import re

import pytest

from conftest import run
from harness import PROSODY_13, PROSODY_VERSION, WAIT, Client, form_values
from slixmpp.exceptions import IqError
from test_register import can_login, register

INVITATION = "urn:xmpp:invite#invitation"
CONTACT = "urn:xmpp:invite#invite"
ACCOUNT = "urn:xmpp:invite#create-account"
RESET = "xmpp:prosody.im/mod_invites_adhoc#password-reset"
USERS = ["admin@example.com", "alice@example.com", "bob@other.example"]


def token_of(text: str) -> str:
    """The preauth token in a URI (or in text holding one)."""
    return re.search(r"preauth=([A-Za-z0-9_-]+)", text).group(1)


async def command(server, jid, node, to="example.com", submit=None, at_once=False):
    c = await Client(jid, "secret", server.c2s_port).online()
    try:
        return await c.command(node, to=to, submit=submit, at_once=at_once)
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


async def offered(server, jid, to="example.com") -> set:
    """The command nodes that `to` lists for `jid` (XEP-0050 disco#items)."""
    c = await Client(jid, "secret", server.c2s_port).online()
    try:
        items = await c.plugin["xep_0030"].get_items(jid=to, node="http://jabber.org/protocol/commands", timeout=WAIT)
        return {node for (_, node, _) in items["disco_items"]["items"]}
    finally:
        await c.close()


def forbidden(server, jid, node, to="example.com") -> bool:
    """Whether running the command is refused at the XEP-0050 level."""
    try:
        run(command(server, jid, node, to=to))
    except IqError as e:
        return e.iq["error"]["condition"] == "forbidden"
    return False


def test_who_is_offered_which_command(prosody):
    # As Prosody's own module: clients list only what can succeed.
    server = prosody(users=[*USERS, "root@other.example"],
                     admins=["admin@example.com", "root@other.example"])
    ours = {CONTACT, ACCOUNT, RESET}
    assert run(offered(server, "admin@example.com")) & ours == ours
    assert run(offered(server, "alice@example.com")) & ours == {CONTACT}
    assert run(offered(server, "bob@other.example")) & ours == set()
    for node in (ACCOUNT, RESET):
        assert forbidden(server, "alice@example.com", node)
    assert forbidden(server, "bob@other.example", CONTACT)
    # A global admin homed on another host creates account invites here
    # (as in Prosody), but no contact invites: those make a contact of
    # the requester's account on this host.
    assert run(offered(server, "root@other.example")) & ours == {ACCOUNT, RESET}
    uri = form_values(run(command(server, "root@other.example", ACCOUNT)))["uri"]
    assert uri.startswith("xmpp:example.com?register;preauth=")
    assert run(register(server, token_of(uri), "rooted"))[1][0]
    assert forbidden(server, "root@other.example", CONTACT)
    # Nor with roster-subscription: root@example.com is someone else.
    server.adduser("root@example.com")
    cmd = run(command(server, "root@other.example", ACCOUNT, submit={"roster-subscription": "1"}, at_once=True))
    assert note(cmd) == "Only users of example.com can add the new account to their contacts", cmd
    assert cmd.xml.find("{jabber:x:data}x") is None
    assert not list(server.data_dir.rglob("roster/root.dat"))


def test_refusals_by_policy(prosody):
    server = prosody(users=USERS, admins=["admin@example.com", "bob@other.example"],
                     config="allow_contact_invites = false")
    # An admin of this host homed elsewhere is offered the contact invite
    # command (admin only here), and the policy says why it cannot be.
    cmd = run(command(server, "bob@other.example", CONTACT))
    assert note(cmd) == "This command is only available to users of example.com"
    assert "form" not in cmd.xml.attrib and cmd.xml.find("{jabber:x:data}x") is None
    # A reset for an account that does not exist.
    cmd = run(command(server, "admin@example.com", RESET, submit={"accountjid": "ghost@example.com"}))
    assert note(cmd) == "There is no account ghost@example.com"


def test_contact_invites_can_be_admin_only(prosody):
    server = prosody(users=USERS, config="allow_contact_invites = false")
    assert CONTACT not in run(offered(server, "alice@example.com"))
    assert forbidden(server, "alice@example.com", CONTACT)
    assert form_values(run(command(server, "admin@example.com", CONTACT)))["uri"].endswith(";ibr=y")


def test_user_invites_by_role_and_setting(prosody):
    server = prosody(users=USERS, config="allow_user_invites = true")
    values = form_values(run(command(server, "alice@example.com", CONTACT)))
    assert values["uri"].endswith(";ibr=y")
    assert run(register(server, token_of(values["uri"]), "erin"))[1][0]


@pytest.mark.skipif(not PROSODY_13, reason=f"Prosody 13's roles and permissions; this is {PROSODY_VERSION} (tests/prosody/prosody13.sh runs it)")
def test_prosody_13_roles_and_permissions_decide(prosody):
    # As stock 13: Prosody's permissions say who may run the admin commands
    # and whose contact invites allow registration, so custom roles and
    # add_permissions count, not only the role names prosody:admin/operator.
    config = "\n".join([
        'custom_roles = { { name = "xmpp:boss"; priority = 60; inherits = { "prosody:admin" } } }',
        'add_permissions = { ["prosody:member"] = { "invites_adhoc:invite-users" } }',
    ])
    server = prosody(users=[*USERS, "boss@example.com", "carol@example.com"], config=config)
    for jid, role in [("boss@example.com", "xmpp:boss"), ("alice@example.com", "prosody:member"),
                      ("carol@example.com", "prosody:registered")]:
        server.prosodyctl("shell", f'user:set_role("{jid}", "example.com", "{role}")')
    # A role that inherits prosody:admin's permissions may create account
    # and reset invites.
    uri = form_values(run(command(server, "boss@example.com", ACCOUNT)))["uri"]
    assert uri.startswith("xmpp:example.com?register;preauth="), uri
    assert run(register(server, token_of(uri), "bossfriend"))[1][0]
    cmd = run(command(server, "boss@example.com", RESET, submit={"accountjid": "carol@example.com"}))
    assert form_values(cmd)["uri"].startswith("xmpp:carol@example.com?register;preauth="), cmd
    # add_permissions gave members :invite-users: their contact invites
    # allow registration; a registered user's do not.
    assert form_values(run(command(server, "alice@example.com", CONTACT)))["uri"].endswith(";ibr=y")
    uri = form_values(run(command(server, "carol@example.com", CONTACT)))["uri"]
    assert uri.startswith("xmpp:carol@example.com?roster;preauth=") and "ibr=y" not in uri, uri
    # A member is no admin.
    assert forbidden(server, "alice@example.com", ACCOUNT)

    # With allow_user_invites every registered account holds :invite-users;
    # remove_permissions takes it from admins (and the roles inheriting
    # theirs), and ours's deny_user_invites_by_roles still refuses.
    server.stop()
    server.config = "\n".join([
        'custom_roles = { { name = "xmpp:boss"; priority = 60; inherits = { "prosody:admin" } } }',
        "allow_user_invites = true",
        'deny_user_invites_by_roles = { "prosody:registered" }',
        'remove_permissions = { ["prosody:admin"] = { "invites_adhoc:invite-users" } }',
    ])
    server.start()

    def contact_uri(jid):
        return form_values(run(command(server, jid, CONTACT)))["uri"]

    assert contact_uri("alice@example.com").endswith(";ibr=y")
    for jid in ("carol@example.com", "boss@example.com"):
        uri = contact_uri(jid)
        assert uri.startswith(f"xmpp:{jid}?roster;preauth=") and "ibr=y" not in uri, (jid, uri)
    # The boss is still an admin for the account command.
    assert form_values(run(command(server, "boss@example.com", ACCOUNT)))["uri"].startswith("xmpp:example.com?register")


def test_forms_submitted_with_the_first_request(prosody):
    # As Prosody's own simple forms: a script may send the form with the
    # first request, without asking for it first.
    server = prosody(users=USERS)
    cmd = run(command(server, "admin@example.com", RESET, submit={"accountjid": "alice@example.com"}, at_once=True))
    assert cmd["status"] == "completed", cmd
    assert form_values(cmd)["uri"].startswith("xmpp:alice@example.com?register;preauth="), cmd
    # The account command answers at once by default; a username sent with
    # the first request is honoured, not dropped for an invite of any name.
    cmd = run(command(server, "admin@example.com", ACCOUNT, submit={"username": "romeo"}, at_once=True))
    assert form_values(cmd)["uri"].startswith("xmpp:romeo@example.com?register;preauth="), cmd
    server.stop()
    server.config = "invites_adhoc_ask_username = true"
    server.start()
    cmd = run(command(server, "admin@example.com", ACCOUNT, submit={"username": "juliet"}, at_once=True))
    assert form_values(cmd)["uri"].startswith("xmpp:juliet@example.com?register;preauth="), cmd
    # A bad form at once is refused as it would be in two steps.
    cmd = run(command(server, "admin@example.com", RESET, submit={"accountjid": "ghost@example.com"}, at_once=True))
    assert note(cmd) == "There is no account ghost@example.com"


def test_account_command_can_ask_for_a_username(prosody):
    server = prosody(users=USERS, config="invites_adhoc_ask_username = true")
    first = run(command(server, "admin@example.com", ACCOUNT))
    assert first["status"] == "executing"
    fields = first["form"]["fields"]
    fields = fields.values() if isinstance(fields, dict) else fields
    by_var = {f["var"]: f for f in fields}
    assert by_var["username"]["type"] == "text-single" and not by_var["username"]["required"]
    assert by_var["roster-subscription"]["type"] == "boolean"
    cmd = run(command(server, "admin@example.com", ACCOUNT, submit={"username": "Juliet"}))
    uri = form_values(cmd)["uri"]
    assert uri.startswith("xmpp:juliet@example.com?register;preauth=")
    assert run(register(server, token_of(uri), "mallory")) == (
        "register", (False, "not-acceptable", "The chosen username is not valid with this invitation"))
    assert run(register(server, token_of(uri), "juliet"))[1][0]
    # No username: any username.
    cmd = run(command(server, "admin@example.com", ACCOUNT, submit={"username": ""}))
    assert form_values(cmd)["uri"].startswith("xmpp:example.com?register;preauth=")
    # A username and roster-subscription cannot be had together (the
    # record names the inviter or the username): refused, not an invite
    # that would register any name.
    cmd = run(command(server, "admin@example.com", ACCOUNT, submit={"username": "romeo", "roster-subscription": "1"}))
    assert "leave out one of the two" in note(cmd), cmd
    assert cmd.xml.find("{jabber:x:data}x") is None, cmd
    # roster-subscription: the new account becomes the admin's contact.
    cmd = run(command(server, "admin@example.com", ACCOUNT, submit={"roster-subscription": "1"}))
    uri = form_values(cmd)["uri"]
    assert uri.startswith("xmpp:admin@example.com?roster;preauth=") and uri.endswith(";ibr=y"), uri
    assert run(register(server, token_of(uri), "romeo"))[1][0]
    roster = "".join(p.read_text() for p in server.data_dir.rglob("roster/admin.dat"))
    assert '"romeo@example.com"' in roster and '"both"' in roster, roster
