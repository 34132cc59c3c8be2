"""Admin commands on a real Prosody with our modules: prosodyctl
mod_invites generate and its flags, the admin shell's invite commands,
invite_expiry as a period, roles and groups applied, reusable group
invites, and the deprecated mod_easy_invite."""

import re
import time

import pytest

from conftest import run
from harness import FIXTURES, PROSODY_13, PROSODY_VERSION, Client, form_values
from test_adhoc import ACCOUNT, CONTACT, command, forbidden, token_of
from test_register import can_login, generate, register

USERS = ["admin@example.com", "alice@example.com"]


def days_from(before: float, seconds: int) -> set[str]:
    """The UTC dates `seconds` after `before` and after now: the invite was
    made in between, and a midnight may fall there."""
    return {time.strftime("%Y-%m-%d", time.gmtime(t + seconds)) for t in (before, time.time())}


def shell(server, line):
    out = server.prosodyctl("shell", line).stdout
    assert "OK:" in out or "Result:" in out, out
    return out


def shown_expiry(server, token) -> str:
    """The Expires line of invite:show for `token`."""
    return re.search(r"Expires: (\S+)", shell(server, f"invite:show('example.com', '{token}')")).group(1)


def test_generate_flags(prosody):
    server = prosody(users=USERS, plugin_paths=[FIXTURES], modules=[
        "invites", "invites_adhoc", "invites_register", "groups_internal"])
    # --admin: the new account is an admin (it may create account invites).
    assert run(register(server, generate(server, "--admin"), "boss"))[1][0]
    cmd = run(command(server, "boss@example.com", ACCOUNT))
    assert cmd["status"] == "completed" and form_values(cmd)["uri"].startswith("xmpp:example.com?register")
    # --role R: not an admin.
    assert run(register(server, generate(server, "--role", "prosody:member"), "member"))[1][0]
    assert forbidden(server, "member@example.com", ACCOUNT)
    # --group G...: joined through mod_groups_internal's add_member.
    assert run(register(server, generate(server, "--group", "g1", "--group", "g2"), "grouped"))[1][0]
    groups = (server.data_dir / "example%2ecom" / "groups_test" / "grouped.dat").read_text()
    assert '"g1"' in groups and '"g2"' in groups
    # --expires-after PERIOD.
    before = time.time()
    token = generate(server, "--expires-after", "2 days")
    expires = shown_expiry(server, token)
    assert expires[:10] in days_from(before, 172800)
    # Bad input: a clear message and a non-zero exit, nothing written.
    for args, message in [
        (["--expires-after", "1m"], 'write "1 min" for minutes or "1 mon" for months'),
        (["--bogus"], "unexpected argument: --bogus"),
        (["--reset", "alice", "--admin"], "--reset cannot be combined"),
        (["--role"], "Please supply a role name"),
    ]:
        p = server.prosodyctl("mod_invites", "generate", "example.com", *args, check=False)
        assert p.returncode != 0 and message in p.stdout, (args, p.stdout)
    p = server.prosodyctl("mod_invites", "generate", "nowhere.example", check=False)
    assert p.returncode != 0 and "does not exist" in p.stdout


def test_invite_expiry_is_a_period(prosody):
    server = prosody(users=USERS, config='invite_expiry = "3 days"')
    before = time.time()
    token = generate(server)
    expires = shown_expiry(server, token)
    assert expires[:10] in days_from(before, 3 * 86400)


def test_an_ambiguous_invite_expiry_is_refused(prosody):
    # "1m": minutes or months? Refused with a message; the default applies.
    server = prosody(users=USERS, config='invite_expiry = "1m"')
    assert server.wait_for_log(
        r'invite_expiry: ambiguous period "1m": write "1 min" for minutes or "1 mon" for months; using 1 week')
    before = time.time()
    token = generate(server)
    expires = shown_expiry(server, token)
    assert expires[:10] in days_from(before, 7 * 86400)


def test_invite_expiry_false_is_never_and_other_types_are_refused(prosody):
    # Prosody 13's get_option_period reads false as never.
    server = prosody(users=USERS, config="invite_expiry = false")
    token = generate(server)
    assert "Expires: never" in shell(server, f"invite:show('example.com', '{token}')")
    server.stop()
    server.config = "invite_expiry = { 3600 }"
    server.start()
    assert server.wait_for_log(
        r"invite_expiry: expected a period \(seconds, \"2 days\" or \"never\"\), not a table; using 1 week")
    before = time.time()
    token = generate(server)
    expires = shown_expiry(server, token)
    assert expires[:10] in days_from(before, 7 * 86400)


def test_create_account_reset_takes_a_ttl_after_nil_data(prosody):
    # Prosody's (username, ttl), and ours's (username, additional_data, ttl)
    # with no data: the ttl counts in both.
    server = prosody(users=USERS)
    before = time.time()
    for call in ('create_account_reset("alice", 3 * 86400)', 'create_account_reset("alice", nil, 3 * 86400)'):
        out = server.prosodyctl("shell", f'> return prosody.hosts["example.com"].modules.invites.{call}.token').stdout
        token = re.search(r"[A-Za-z0-9_-]{24}", out).group(0)
        expires = shown_expiry(server, token)
        assert expires[:10] in days_from(before, 3 * 86400), (call, expires)


def test_uris_are_escaped(prosody):
    # RFC 5122: a "?" in a username is escaped in the URI, and the invite
    # registers that very name.
    server = prosody(users=USERS)
    out = shell(server, "invite:create_account('a?b@example.com')")
    assert "xmpp:a%3Fb@example.com?register;preauth=" in out, out
    assert run(register(server, token_of(out), "a?b"))[1][0]
    assert run(can_login(server, "a?b@example.com"))


def test_shell_commands(prosody):
    server = prosody(users=USERS)
    out = shell(server, "invite:create_account('example.com')")
    any_token = token_of(out)
    out = shell(server, "invite:create_account('juliet@example.com')")
    assert "xmpp:juliet@example.com?register;preauth=" in out
    out = shell(server, "invite:create_contact('alice@example.com', true)")
    assert re.search(r"xmpp:alice@example.com\?roster;preauth=\S+;ibr=y", out)
    out = shell(server, "invite:create_reset('alice@example.com')")
    assert "xmpp:alice@example.com?register;preauth=" in out and "valid until" in out
    listing = shell(server, "invite:list('example.com')")
    assert "4 pending invites" in listing and any_token in listing
    shown = shell(server, f"invite:show('example.com', '{any_token}')")
    assert "Invitation to register on example.com" in shown
    assert "Invitation deleted" in shell(server, f"invite:delete('example.com', '{any_token}')")
    assert "3 pending invites" in shell(server, "invite:list('example.com')")
    assert run(register(server, any_token, "late"))[0] == "preauth"
    # Deleting a contact invite revokes both halves: no registration, and
    # no pre-approved subscription (stock leaves the inviter's entry).
    contact = token_of(shell(server, "invite:create_contact('alice@example.com', true)"))
    assert "Invitation deleted" in shell(server, f"invite:delete('example.com', '{contact}')")
    assert contact not in server.stored_invites()
    assert run(register(server, contact, "late"))[0] == "preauth"
    # Nothing stored under a token: said so, not "deleted".
    again = server.prosodyctl("shell", f"invite:delete('example.com', '{contact}')", check=False)
    assert "No invitation is stored under that token" in again.stdout + again.stderr, again
    # No host: a message, not a Lua error (on 13 the shell itself says it).
    want = "Invalid or missing argument" if PROSODY_13 else "Supply the host, or a JID on it"
    for line in ("invite:list()", "invite:show()", "invite:create_account()", "invite:create_reset()"):
        p = server.prosodyctl("shell", line, check=False)
        assert want in p.stdout + p.stderr and "traceback" not in (p.stdout + p.stderr).lower(), (line, p.stdout, p.stderr)


@pytest.mark.skipif(not PROSODY_13, reason=f"Prosody 13's command-line shell; this is {PROSODY_VERSION} (tests/prosody/prosody13.sh runs it)")
def test_prosody_13_shell_command_line(prosody):
    # Prosody 13 takes shell commands as items with flags, from the command
    # line: prosodyctl shell invite create_account example.com --admin.
    server = prosody(users=USERS, plugin_paths=[FIXTURES], modules=[
        "invites", "invites_adhoc", "invites_register", "groups_internal"])

    def invite(*args, ok=True):
        p = server.prosodyctl("shell", "invite", *args, check=False)
        assert (p.returncode == 0) == ok, (args, p.stdout, p.stderr)
        return p.stdout if ok else p.stdout + p.stderr

    help_text = server.prosodyctl("shell", "help", "invite").stdout
    for flag in ("--admin", "--role <role>", "--group <group>", "--expires-after", "--allow-registration"):
        assert flag in help_text, help_text
    # --admin (which stock 13.0.1 declares no flag for, and so refuses).
    assert run(register(server, token_of(invite("create_account", "example.com", "--admin")), "boss"))[1][0]
    cmd = run(command(server, "boss@example.com", ACCOUNT))
    assert cmd["status"] == "completed" and form_values(cmd)["uri"].startswith("xmpp:example.com?register")
    # --role, repeated: stored as 13's list, the first the primary role.
    token = token_of(invite("create_account", "example.com", "--role", "prosody:member", "--role", "x:extra"))
    stored = server.stored_invites()
    assert re.search(r'\["roles"\] = \{\s*"prosody:member";\s*"x:extra";\s*\}', stored), stored
    assert run(register(server, token, "member"))[1][0]
    assert forbidden(server, "member@example.com", ACCOUNT)
    # --group, repeated: joined through mod_groups_internal.
    assert run(register(server, token_of(invite("create_account", "example.com", "--group", "g1", "--group", "g2")), "grouped"))[1][0]
    groups = (server.data_dir / "example%2ecom" / "groups_test" / "grouped.dat").read_text()
    assert '"g1"' in groups and '"g2"' in groups
    # A bound username.
    assert "xmpp:juliet@example.com?register;preauth=" in invite("create_account", "juliet@example.com")
    # --expires-after, on each create command.
    before = time.time()
    token = token_of(invite("create_account", "example.com", "--expires-after", "2 days"))
    expires = re.search(r"Expires: (\S+)", invite("show", "example.com", token)).group(1)
    assert expires[:10] in days_from(before, 2 * 86400)
    out = invite("create_reset", "alice@example.com", "--expires-after", "3 days")
    assert re.search(r"^xmpp:alice@example.com\?register;preauth=\S+$", out, re.M), out
    until = re.search(r"Password reset link for alice@example.com valid until (\S+)", out).group(1)
    assert until[:10] in days_from(before, 3 * 86400)
    # --allow-registration, and its "no" forms (stock 13.0.1 reads
    # --allow-registration=false as yes).
    assert re.search(r"roster;preauth=\S+;ibr=y", invite("create_contact", "alice@example.com", "--allow-registration"))
    for no in ("--allow-registration=false", "--allow-registration=no", "--no-allow-registration"):
        out = invite("create_contact", "alice@example.com", no)
        assert "xmpp:alice@example.com?roster;preauth=" in out and "ibr=y" not in out, (no, out)
    # list, show and delete.
    token = token_of(invite("create_account", "example.com"))
    assert token in invite("list", "example.com")
    assert "Invitation to register on example.com" in invite("show", "example.com", token)
    assert "Invitation deleted" in invite("delete", "example.com", token)
    assert token not in invite("list", "example.com")
    assert run(register(server, token, "late"))[0] == "preauth"
    # 0.12's call forms still work in 13's shell.
    assert "xmpp:example.com?register;preauth=" in shell(server, "invite:create_account('example.com', 3600)")
    assert ";ibr=y" in shell(server, "invite:create_contact('alice@example.com', true)")
    # Bad input: a clear message, a non-zero exit, nothing written.
    stored = server.stored_invites()
    for args, message in [
        (["create_account", "example.com", "--expires-after", "1m"], 'write "1 min" for minutes or "1 mon" for months'),
        (["create_account", "example.com", "--bogus"], "Unknown parameter: --bogus"),
        (["create_account", "example.com", "--admin=maybe"], '--admin takes yes or no, not "maybe"'),
        (["create_contact", "alice@example.com", "--allow-registration=perhaps"], "--allow-registration takes yes or no"),
        (["create_contact", "example.com"], "Supply the JID of the account"),
        (["create_reset", "example.com"], "Supply the JID of the account"),
        (["create_account", "nowhere.example"], "Unknown host: nowhere.example"),
    ]:
        out = invite(*args, ok=False)
        assert message in out, (args, out)
    assert server.stored_invites() == stored


def test_shell_commands_with_hashed_tokens(prosody):
    server = prosody(users=USERS, config="invites_hash_tokens = true")
    any_token = token_of(shell(server, "invite:create_account('example.com')"))
    bound = token_of(shell(server, "invite:create_account('juliet@example.com')"))
    shell(server, "invite:create_reset('alice@example.com')")
    # Listed under their hashes: storage holds no token.
    listing = shell(server, "invite:list('example.com')")
    assert "3 pending invites" in listing, listing
    assert any_token not in listing and bound not in listing
    keys = re.findall(r"sha256:[A-Za-z0-9_-]+", listing)
    assert len(keys) == 3, listing
    # Shown with the URI handed out, built again from the presented token.
    shown = shell(server, f"invite:show('example.com', '{bound}')")
    assert f"XMPP URI: xmpp:juliet@example.com?register;preauth={bound}" in shown, shown
    assert "with username 'juliet'" in shown
    # A bound invite registers its name.
    assert run(register(server, bound, "juliet"))[1][0]
    assert "2 pending invites" in shell(server, "invite:list('example.com')")
    # Deleted by the key the listing shows.
    listing = shell(server, "invite:list('example.com')")
    key = re.search(r"(sha256:[A-Za-z0-9_-]+)  Invitation to register on example.com\b", listing).group(1)
    assert "Invitation deleted" in shell(server, f"invite:delete('example.com', '{key}')")
    assert "1 pending invites" in shell(server, "invite:list('example.com')")
    assert run(register(server, any_token, "late"))[0] == "preauth"


def test_prosody_13_never_expiring_record(prosody):
    # What Prosody 13 stores for invite_expiry = "never": expires = math.huge.
    server = prosody(users=USERS)
    token = "Xb9sT2vR7qLm4KpZ8wYd1eFg"
    server.prosodyctl("shell", (
        '> return require "core.storagemanager".open("example.com", "invite_token", "map"):set(nil, "%s", '
        '{ type = "register", jid = "example.com", token = "%s", allow_registration = true, '
        'uri = "xmpp:example.com?register;preauth=%s", created_at = os.time(), expires = math.huge })'
    ) % (token, token, token))
    assert "(1/0)" in server.stored_invites()
    listing = shell(server, "invite:list('example.com')")
    assert f"{token}  Invitation to register on example.com  expires never" in listing, listing
    assert "Expires: never" in shell(server, f"invite:show('example.com', '{token}')")
    assert run(register(server, token, "forever"))[1][0]
    assert run(can_login(server, "forever@example.com"))


def test_groups_are_applied_once_with_mod_invites_groups(prosody):
    # prosody-modules' mod_invites_groups applies an invite's groups itself;
    # where it is loaded ours leaves them to it, so each is added once.
    for extra in ([], ["invites_groups"]):
        server = prosody(users=USERS, plugin_paths=[FIXTURES], modules=[
            "invites", "invites_adhoc", "invites_register", "groups_internal", *extra])
        assert run(register(server, generate(server, "--group", "g1", "--group", "g2"), "grouped"))[1][0]
        groups = (server.data_dir / "example%2ecom" / "groups_test" / "grouped.dat").read_text()
        for group in ("g1", "g2"):
            assert f'["{group}"] = 1;' in groups, (extra, groups)
        server.stop()


def test_reusable_group_invite(prosody):
    server = prosody(users=USERS, plugin_paths=[FIXTURES], modules=[
        "invites", "invites_adhoc", "invites_register", "groups_internal"])
    out = server.prosodyctl(
        "shell", '> local i = prosody.hosts["example.com"].modules.invites.create_group({"family"}, nil, 3600); return i.uri'
    ).stdout
    token = token_of(re.search(r"xmpp:\S+", out).group(0))
    for name in ("kid1", "kid2", "kid3"):
        assert run(register(server, token, name))[1][0]
        assert '"family"' in (server.data_dir / "example%2ecom" / "groups_test" / f"{name}.dat").read_text()


def test_easy_invite(prosody):
    server = prosody(users=USERS, modules=["invites", "easy_invite"])
    cmd = run(command(server, "alice@example.com", CONTACT))
    uri = form_values(cmd)["uri"]
    assert uri.startswith("xmpp:alice@example.com?roster;preauth=") and uri.endswith(";ibr=y")
    assert run(register(server, token_of(uri), "friend"))[1][0]
    out = server.prosodyctl("mod_easy_invite", "example.com", "generate", "--admin").stdout
    token = token_of(re.search(r"xmpp:\S+", out).group(0))
    assert run(register(server, token, "boss"))[1][0]
    assert run(can_login(server, "boss@example.com"))
    p = server.prosodyctl("mod_easy_invite", "example.com", "frobnicate", check=False)
    assert p.returncode != 0 and "usage: prosodyctl mod_easy_invite" in p.stdout
