#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from tests/vectors/*.json.

    python3 fuzz/seed.py [OUT_DIR]     (default: fuzz/corpus)

Each target gets OUT_DIR/<target>/seed-<hash>: inputs in the layout the
target reads (see the doc comment at the top of each fuzz_targets/*.rs).
Seeds are generated, not checked in, so they follow the vectors; the
directory also collects what libFuzzer finds, and is ignored by git.
Writing is idempotent: a seed's name is the hash of its bytes.
"""

import hashlib
import json
import struct
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
VECTORS = FUZZ.parent / "tests" / "vectors"


def load(name):
    with open(VECTORS / name, encoding="utf-8") as f:
        return json.load(f)


def b(s):
    return s.encode("utf-8") if isinstance(s, str) else bytes(s)


def fields(*parts):
    """NUL-separated fields (a field never holds a NUL)."""
    return b"\0".join(b(p).replace(b"\0", b"") for p in parts)


def strings_in(value):
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings_in(v)


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else FUZZ / "corpus"
    uris = load("uris.json")
    templates = load("templates.json")
    periods = load("periods.json")
    records = load("prosody_records.json")
    validation = load("validation.json")
    seeds = {}

    def add(target, data):
        seeds.setdefault(target, set()).add(bytes(data))

    # --- uri: every URI the vectors hold -----------------------------------
    all_uris = [c["uri"] for c in uris["build"]] + [c["uri"] for c in uris["parse"]]
    for row in records["sql_rows"]:
        if row["type"] == "json":
            all_uris.append(json.loads(row["value"]).get("uri", ""))
    for case in validation["cases"]:
        if case.get("record"):
            all_uris.append(case["record"].get("uri", ""))
    all_uris.append(templates["values"]["invite"]["uri"])
    for u in all_uris:
        add("uri", b(u))

    # --- uri_roundtrip: flags, host selector 0xFF (host from field 2) -------
    for c in uris["build"] + uris["build_errors"]:
        flags = (1 if c["action"] == "roster" else 0) | (2 if c["ibr"] else 0)
        if c["localpart"] is None:
            flags |= 4
        token = uris["token"]
        add("uri_roundtrip", bytes([flags, 0xFF]) + fields(c["localpart"] or "", token, c["host"]))
        add("uri_roundtrip", bytes([flags, 0]) + fields(c["localpart"] or "", token))

    # --- template: template NUL values-as-JSON -----------------------------
    values = json.dumps(templates["values"], ensure_ascii=False, separators=(",", ":"))
    for c in templates["cases"]:
        add("template", fields(c["template"], values))
        add("template", fields(c["template"]))

    # --- template_escape: one field per slot, selector byte then value -----
    strs = sorted(set(strings_in(templates["values"])) | set(all_uris))
    for i in range(0, len(strs), 4):
        chunk = strs[i : i + 4]
        add("template_escape", fields(*(bytes([1 + (i + j) % 255]) + b(s) for j, s in enumerate(chunk))))

    # --- period -------------------------------------------------------------
    for c in periods["cases"]:
        add("period", b(c["input"]))

    # --- record: stored values as Prosody wrote them, and the vectors' ----
    for row in records["sql_rows"]:
        add("record", b(row["value"]))
    for case in validation["cases"]:
        if case.get("record"):
            add("record", b(json.dumps(case["record"], ensure_ascii=False)))
        if "contact_expires" in case:
            add("record", b(str(case["contact_expires"])))
    # Structure-aware mutations of the captured records (0xFF prefix).
    for i in range(len(records["sql_rows"])):
        add("record", bytes([0xFF, i, 1, 0, 5, 1]))
        add("record", bytes([0xFF, i, 2, 1, 3, 0, 4, 7, 0x41, 0x42]))

    # --- token and c_api: one input per validation case and gate attempt ---
    for case in validation["cases"]:
        rec = case.get("record")
        red = case["redemption"]
        inviter = red["subscription"] if isinstance(red, dict) else ""
        attempts = case.get("gate", []) + case.get("gate_without_invite", []) or [{"username": "romeo"}]
        for g in attempts:
            add("token", token_input(case, rec, inviter, g))
            add("c_api", c_api_input(case, rec, inviter, g, uris, templates, periods))
    return write(out, seeds)


def token_input(case, rec, inviter, g):
    now = case["now"]
    expires = (rec or {}).get("expires")
    f = 0
    if rec:
        f |= 1
        f |= 2 if rec["type"] == "roster" else 0
        f |= 4 if rec.get("allow_registration") else 0
        f |= 8 if expires is not None else 0
        if "reusable" in rec:
            f |= 64 | (128 if rec["reusable"] else 0)
    if "contact_expires" in case:
        f |= 16
    if inviter:
        f |= 32
    gflags = 0
    rec = rec or {}
    reset = (rec.get("additional_data") or {}).get("allow_reset")
    if "max_uses" in rec:
        gflags |= 1
    if "uses" in rec:
        gflags |= 2
    if reset is not None:
        gflags |= 4
    if g.get("invite_only", True):
        gflags |= 16
    if g.get("account_exists"):
        gflags |= 32
    if g.get("reserved"):
        gflags |= 64
    ctrl = struct.pack(
        "<qqqIIBB",
        now,
        int(expires or 0),
        int(case.get("contact_expires", 0)),
        int(rec.get("max_uses", 0)),
        int(rec.get("uses", 0)),
        f,
        gflags,
    )
    assert len(ctrl) == 34
    return ctrl + fields(
        case["presented"], rec.get("token", ""), rec.get("jid", ""), inviter, reset or "", g["username"]
    )


DATETIMES = ["2026-11-28T09:00:00Z", "2026-11-28T10:00:00.5+01:00", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]


def c_api_input(case, rec, inviter, g, uris, templates, periods):
    n = len(case["name"])
    flags = 0
    flags |= 1 if rec else 0
    flags |= 2 if "contact_expires" in case else 0
    flags |= 8 if g.get("invite_only", True) else 0
    flags |= 16 if g.get("account_exists") else 0
    flags |= 32 if g.get("reserved") else 0
    null_fields = 0 if inviter else 1 << 7  # subscription_to NULL: registration
    build = uris["build"][n % len(uris["build"])]
    ctrl = struct.pack(
        "<IIqqqqQIIIIBBBIB",
        null_fields,
        0,
        case["now"],
        int(case.get("contact_expires", 0)),
        1795856400 + n,
        case["now"],
        604800,
        1 if build["action"] == "roster" else 0,
        n % 5,
        n % 2,
        0,
        flags | (4 if build["ibr"] else 0),
        0b11000001,  # set a TTL, token format, landing page support list
        3,
        n,
        n % 4,
    )
    ctrl += bytes(72 - len(ctrl))
    assert len(ctrl) == 72
    tpl = templates["cases"][n % len(templates["cases"])]["template"]
    values = json.dumps(templates["values"], ensure_ascii=False, separators=(",", ":"))
    return ctrl + fields(
        build["uri"],
        build["localpart"] or "",
        build["host"],
        uris["token"],
        periods["cases"][n % len(periods["cases"])]["input"],
        json.dumps(rec, ensure_ascii=False) if rec else "null",
        case["presented"],
        inviter,
        g["username"],
        tpl,
        values,
        DATETIMES[n % len(DATETIMES)],
        "https://invite.example/",
        "romeo",
        "prosody:member",
        bytes(range(1, 97)),
        "account",
    )


def write(out, seeds):
    total = 0
    for target, items in sorted(seeds.items()):
        d = out / target
        d.mkdir(parents=True, exist_ok=True)
        for data in items:
            (d / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)
        total += len(items)
        print(f"seed.py: {target}: {len(items)} seeds")
    return total


if __name__ == "__main__":
    main()
