"""Debian's prosody-modules web modules on top of our mod_invites:
mod_invites_page (landing pages), mod_invites_register_web (registration in
the browser), mod_invites_api (invites over HTTP) and mod_register_apps."""

import re
import urllib.error
import urllib.parse
import urllib.request

from conftest import run
from harness import FIXTURES
from test_commands import shell
from test_compat import store_record
from test_register import can_login

WEB = ["invites", "invites_adhoc", "invites_register", "http", "invites_page", "register_apps",
       "invites_api", "invites_register_web", "password_policy"]


def http(server, path, data=None):
    url = f"http://127.0.0.1:{server.http_port}{path}"
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode(errors="replace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


def web_server(prosody):
    return prosody(modules=WEB, hosts=("example.com",), plugin_paths=[FIXTURES],
                   config='http_host = "127.0.0.1"\nsite_name = "Example"')


def test_landing_page_and_web_registration(prosody):
    server = web_server(prosody)
    link = server.prosodyctl("shell", "invite:create_account('example.com')").stdout
    link = re.search(r"http://\S+", link).group(0)
    assert link.startswith(f"http://127.0.0.1:{server.http_port}/invites_page?")
    token = link.rsplit("?", 1)[1]

    status, _, page = http(server, f"/invites_page?{token}")
    assert status == 200 and token in page
    status, _, page = http(server, "/invites_page?AAAAAAAAAAAAAAAAAAAAAAAA")
    assert status == 200 and token not in page and "expired" in page.lower()

    status, _, page = http(server, f"/register?t={token}")
    assert status == 200 and token in page
    status, _, page = http(server, f"/register?t={token}", {"user": "webuser", "password": "long enough", "token": token})
    assert status == 200 and "webuser" in page, page[:500]
    assert run(can_login(server, "webuser@example.com", "long enough"))
    # Spent: the form now sends the browser back to the (invalid) invite page.
    status, headers, _ = http(server, f"/register?t={token}", {"user": "again", "password": "long enough", "token": token})
    assert status == 303


def test_web_registration_honours_the_gate(prosody):
    server = web_server(prosody)
    out = server.prosodyctl("shell", "invite:create_account('juliet@example.com')").stdout
    token = re.search(r"\?(\S+)", out.split("http://", 1)[1]).group(1)
    status, _, page = http(server, f"/register?t={token}", {"user": "mallory", "password": "long enough", "token": token})
    assert "The chosen username is not valid with this invitation" in page
    assert not run(can_login(server, "mallory@example.com", "long enough"))


def test_invites_api(prosody):
    server = web_server(prosody)
    key = server.prosodyctl("mod_invites_api", "create", "example.com", "test").stdout.strip().splitlines()[-1]
    status, headers, _ = http(server, f"/invites_api?key={urllib.parse.quote(key)}")
    assert status == 201
    location = headers["Location"]
    assert location.startswith(f"http://127.0.0.1:{server.http_port}/invites_page?")
    status, _, page = http(server, "/invites_api?key=bad/key")
    assert status == 403


def test_contact_only_invites_get_no_link_the_page_cannot_show(prosody):
    # mod_invites_page links only invites that allow registration: its page
    # cannot show a contact-only one, so we add no link of our own for it.
    page = 'invites_page = "https://invite.example/{invite.token}"'
    server = prosody(modules=WEB, hosts=("example.com",), plugin_paths=[FIXTURES],
                     config=f'http_host = "127.0.0.1"\n{page}')
    out = server.prosodyctl("shell", "invite:create_contact('alice@example.com', false)").stdout
    assert "xmpp:alice@example.com?roster;preauth=" in out and "https://invite.example/" not in out, out
    out = server.prosodyctl("shell", "invite:create_contact('alice@example.com', true)").stdout
    assert "https://invite.example/" in out, out
    out = server.prosodyctl("shell", "invite:create_account('example.com')").stdout
    assert "https://invite.example/" in out, out
    # Unless invites_page_supports asks for them.
    server.stop()
    server.config = f'http_host = "127.0.0.1"\n{page}\ninvites_page_supports = {{ "contact-only" }}'
    server.start()
    out = server.prosodyctl("shell", "invite:create_contact('alice@example.com', false)").stdout
    assert "https://invite.example/" in out, out


def test_stock_records_get_their_uri_escaped(prosody):
    # Stock Prosody stores the invite URI it concatenated without escaping
    # (tests/vectors/prosody_records.json holds 0.12.3's own, for a?b, 100%
    # and jürgen): clients read such a URI as another JID. Ours hands out
    # RFC 5122's on the landing page, in its Link header and in
    # invite:show, and leaves stock's record as it is stored.
    server = web_server(prosody)
    cases = [
        ("Aq9sT2vR7qLm4KpZ8wYd1eFg", 'type = "register", jid = "a?b@example.com", allow_registration = true',
         "xmpp:a?b@example.com?register;preauth={}", "xmpp:a%3Fb@example.com?register;preauth={}"),
        ("Jg9sT2vR7qLm4KpZ8wYd1eFg", 'type = "roster", jid = "jürgen@example.com", allow_registration = true',
         "xmpp:jürgen@example.com?roster;preauth={};ibr=y", "xmpp:j%C3%BCrgen@example.com?roster;preauth={};ibr=y"),
        ("Pc9sT2vR7qLm4KpZ8wYd1eFg", 'type = "roster", jid = "100%@example.com", allow_registration = true',
         "xmpp:100%@example.com?roster;preauth={};ibr=y", "xmpp:100%25@example.com?roster;preauth={};ibr=y"),
        # Already RFC 5122's: served as stored.
        ("Ok9sT2vR7qLm4KpZ8wYd1eFg", 'type = "register", jid = "example.com", allow_registration = true',
         "xmpp:example.com?register;preauth={}", "xmpp:example.com?register;preauth={}"),
    ]
    for token, fields, stock, _ in cases:
        store_record(server, token, f'{fields}, uri = "{stock.format(token)}"')
    for token, _, stock, rfc in cases:
        stock, rfc = stock.format(token), rfc.format(token)
        status, headers, page = http(server, f"/invites_page?{token}")
        assert status == 200 and headers["Link"] == f'<{rfc}>; rel="alternate"', (status, headers)
        assert rfc in page and (stock == rfc or stock not in page), page
        assert f"XMPP URI: {rfc}\n" in shell(server, f"invite:show('example.com', '{token}')")
    stored = server.stored_invites()
    assert "xmpp:a?b@example.com?register;preauth=Aq9sT2vR7qLm4KpZ8wYd1eFg" in stored, stored
    assert "xmpp:100%@example.com?roster;preauth=Pc9sT2vR7qLm4KpZ8wYd1eFg;ibr=y" in stored, stored
