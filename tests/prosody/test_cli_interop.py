"""The command-line tool against a real Prosody (0.12.3, or 13.0.1 under
tests/prosody/prosody13.sh) with storage = "sql"
(SQLite) and Prosody's own stock modules: invites the tool writes into
Prosody's database let a client register; invites Prosody writes show in
the tool's list and validate."""

import json
import os
import subprocess

from conftest import run
from harness import PROSODY_13, ROOT, form_values
from test_adhoc import ACCOUNT, command, forbidden
from test_register import can_login, register, stock_generate

STOCK = ["invites", "invites_adhoc", "invites_register"]


def cli(server, *args, check=True):
    tool = os.environ.get("XI_CLI", str(ROOT / "target" / "debug" / "xmpp-invites"))
    p = subprocess.run([tool, "--database", str(server.data_dir / "prosody.sqlite"), *args],
                       capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise RuntimeError(f"xmpp-invites {' '.join(args)} failed ({p.returncode}): {p.stdout}\n{p.stderr}")
    return p


def test_cli_and_stock_prosody_share_invites(prosody):
    server = prosody(ours=False, storage="sql", modules=STOCK, users=["admin@example.com", "romeo@example.com"])

    # The tool writes into the running server's database...
    created = json.loads(cli(server, "--json", "create", "account", "example.com").stdout)
    # Roles in the form the server applies: 0.12 a set, 13 a list.
    role_format = "list" if PROSODY_13 else "set"
    admin = json.loads(cli(server, "--json", "create", "account", "example.com", "--admin",
                           "--role-format", role_format).stdout)
    contact = json.loads(cli(server, "--json", "create", "contact", "romeo@example.com", "--allow-registration").stdout)
    reset = json.loads(cli(server, "--json", "create", "reset", "romeo@example.com").stdout)
    # ...and stock Prosody honours every one.
    assert run(register(server, created["token"], "fromcli"))[1] == (True, None, None)
    assert run(register(server, admin["token"], "clibigboss"))[1][0]
    # --admin was applied by stock Prosody: its admin-only command answers.
    assert form_values(run(command(server, "clibigboss@example.com", ACCOUNT)))["uri"].startswith("xmpp:example.com?register")
    assert run(register(server, contact["token"], "clifriend"))[1][0]
    assert run(register(server, reset["token"], "romeo", "reset-by-cli"))[1][0]
    assert run(can_login(server, "romeo@example.com", "reset-by-cli"))
    # Stock spent them in the shared database: the tool sees that.
    p = cli(server, "validate", "example.com", created["token"], check=False)
    assert p.returncode == 2, (p.stdout, p.stderr)

    # Prosody writes an invite; the tool lists and validates it, then uses it.
    token = stock_generate(server)
    listed = json.loads(cli(server, "--json", "list", "example.com").stdout)
    assert token in [i["token"] for i in listed]
    assert cli(server, "validate", "example.com", token).returncode == 0
    assert cli(server, "use", "example.com", token).returncode == 0
    step, (ok, _, _) = run(register(server, token, "toolate"))
    assert (step, ok) == ("preauth", False)


def test_max_uses_and_never_expiring_invites_from_the_tool(prosody):
    # Two extensions the tool writes into Prosody's database: ours honour
    # them, and stock, switched back to, still reads them as the README
    # says (a max_uses invite single-use, a never-expiring one valid).
    server = prosody(storage="sql", users=["admin@example.com"])

    def create(*args):
        return json.loads(cli(server, "--json", "create", "account", "example.com", *args).stdout)["token"]

    twice, forever = create("--max-uses", "2"), create("--expires-after", "never")
    for name in ("max1", "max2"):
        assert run(register(server, twice, name))[1][0], name
    step, (ok, _, _) = run(register(server, twice, "max3"))
    assert (step, ok) == ("preauth", False)
    assert run(register(server, forever, "forever1"))[1][0]
    # Never expiring is not reusable: one use spends it.
    assert run(register(server, forever, "forever2"))[0] == "preauth"

    twice, forever = create("--max-uses", "2"), create("--expires-after", "never")
    server.stop()
    server.ours = False
    server.modules = STOCK
    server.start()
    assert run(register(server, twice, "stock1"))[1][0]
    assert run(register(server, twice, "stock2"))[0] == "preauth"
    assert run(register(server, forever, "stock3"))[1][0]
    for name in ("max1", "max2", "forever1", "stock1", "stock3"):
        assert run(can_login(server, f"{name}@example.com"))


def test_roles_in_either_form_make_an_admin(prosody):
    # Prosody 0.12 stores roles as a set, 13 as a list: ours applies both
    # on either (stock 13 applies no set, stock 0.12 no list).
    server = prosody(storage="sql", users=["admin@example.com"])
    for form in ("set", "list"):
        made = json.loads(cli(server, "--json", "create", "account", "example.com", "--admin",
                              "--role-format", form).stdout)
        assert run(register(server, made["token"], f"boss{form}"))[1][0]
        cmd = run(command(server, f"boss{form}@example.com", ACCOUNT))
        assert form_values(cmd)["uri"].startswith("xmpp:example.com?register"), (form, cmd)
    plain = json.loads(cli(server, "--json", "create", "account", "example.com").stdout)
    assert run(register(server, plain["token"], "nobody"))[1][0]
    assert forbidden(server, "nobody@example.com", ACCOUNT)
