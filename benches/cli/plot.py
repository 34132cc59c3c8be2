#!/usr/bin/env python3
"""Draws benchmark 4's scaling curves as an SVG, with no dependencies.

    python3 benches/cli/plot.py [RESULTS_JSON [OUT_SVG]]

defaults: benches/cli/results/scaling.json -> benches/cli/scaling.svg.
x: invites pending in the store (log scale); y: milliseconds per operation
(log scale: the curves span seven decades). Blues, green and purple are the
xmpp-invites CLI on SQLite; red, orange and brown (dashed or dotted) stock
Prosody 0.12.3 on its default file storage.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent

W, H = 940, 560
LEFT, RIGHT, TOP, BOTTOM = 80, 320, 50, 60


def series(r: dict) -> list[dict]:
    ours, pros = r["ours"], r["prosody_internal"]
    pick = lambda rows, f: [(row["invites"], f(row)) for row in rows]
    return [
        {"label": "ours: create, one invite (end to end)", "color": "#1f77b4", "dash": None,
         "points": pick(ours, lambda x: x["create_ms"]["median"])},
        {"label": "ours: create, fastest of 21 runs", "color": "#1f77b4", "dash": "6,3",
         "points": pick(ours, lambda x: x["create_ms"]["min"])},
        {"label": "ours: create, fsync() off (diagnostic)", "color": "#6baed6", "dash": "2,3",
         "points": pick([x for x in ours if "create_no_fsync_ms" in x], lambda x: x["create_no_fsync_ms"]["median"])},
        {"label": "ours: create, per invite of --count 1000", "color": "#17becf", "dash": None,
         "points": pick(ours, lambda x: x["create_amortised_ms"]["median"])},
        {"label": "ours: validate (end to end)", "color": "#2ca02c", "dash": None,
         "points": pick(ours, lambda x: x["validate_ms"]["median"])},
        {"label": "ours: list --json, per invite", "color": "#9467bd", "dash": None,
         "points": pick(ours, lambda x: x["list_per_invite_ms"])},
        {"label": "Prosody: mod_invites generate (end to end)", "color": "#d62728", "dash": "7,4",
         "points": pick(pros, lambda x: x["generate_ms"]["median"])},
        {"label": "Prosody: get() lookup, in process", "color": "#ff7f0e", "dash": "7,4",
         "points": pick(pros, lambda x: x["validate_get_inprocess_ms"]["median"])},
        {"label": "Prosody: validate via prosodyctl (end to end)", "color": "#8c564b", "dash": "2,3",
         "points": pick(pros, lambda x: x["validate_get_e2e_ms"]["median"])},
    ]


def fmt_ms(v: float) -> str:
    if v >= 1000:
        return f"{v / 1000:.3g} s"
    if v >= 1:
        return f"{v:.3g} ms"
    return f"{v * 1000:.3g} µs"


def fmt_count(n: float) -> str:
    return {1e3: "1k", 1e4: "10k", 1e5: "100k", 1e6: "1M", 1e7: "10M"}.get(n, f"{n:g}")


def render(r: dict) -> str:
    lines = [s for s in series(r) if s["points"]]
    xs = [p[0] for s in lines for p in s["points"]]
    ys = [p[1] for s in lines for p in s["points"]]
    x0, x1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    X = lambda v: LEFT + (math.log10(v) - x0) / (x1 - x0) * pw
    Y = lambda v: TOP + ph - (math.log10(v) - y0) / (y1 - y0) * ph

    m = r.get("machine", {})
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold">Cost per operation vs invites in the store</text>',
        f'<text x="{LEFT}" y="39" fill="#555">xmpp-invites CLI on SQLite vs Prosody {escape(m.get("prosody", ""))} '
        f'file storage (red, orange, brown); medians unless marked; {m.get("nproc", "?")} × {escape(m.get("cpu", ""))}</text>',
    ]
    for d in range(y0, y1 + 1):
        y = Y(10 ** d)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt_ms(10 ** d)}</text>')
    for d in range(x0, x1 + 1):
        x = X(10 ** d)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + ph}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{TOP + ph + 18}" text-anchor="middle">{fmt_count(10 ** d)}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 18}" text-anchor="middle">pending invites in the store (log)</text>')
    out.append(f'<text transform="translate(18 {TOP + ph / 2}) rotate(-90)" text-anchor="middle">'
               'time per operation (log)</text>')

    ends = []  # end-of-line value labels, spread apart below
    for i, s in enumerate(lines):
        pts = sorted(s["points"])
        dash = f' stroke-dasharray="{s["dash"]}"' if s["dash"] else ""
        path = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{s["color"]}" stroke-width="2"{dash}/>')
        for x, y in pts:
            out.append(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="3.5" fill="{s["color"]}">'
                       f'<title>{escape(s["label"])}: {fmt_count(x) if x in (1e3, 1e5, 1e6) else x} → {fmt_ms(y)}</title></circle>')
        lx, ly = pts[-1]
        ends.append([X(lx) + 6, Y(ly) + 4, s["color"], fmt_ms(ly)])
        # legend
        gy = TOP + 10 + i * 34
        gx = LEFT + pw + 62
        out.append(f'<line x1="{gx}" y1="{gy}" x2="{gx + 24}" y2="{gy}" stroke="{s["color"]}" stroke-width="2"{dash}/>')
        words = s["label"].split(": ", 1)
        out.append(f'<text x="{gx + 30}" y="{gy + 4}">{escape(words[0])}:</text>')
        out.append(f'<text x="{gx + 30}" y="{gy + 18}" fill="#444" font-size="11">{escape(words[1])}</text>')
    ends.sort(key=lambda e: (round(e[0]), e[1]))
    for prev, e in zip(ends, ends[1:]):
        if round(prev[0]) == round(e[0]) and e[1] < prev[1] + 12:
            e[1] = prev[1] + 12
    for x, y, color, text in ends:
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" fill="{color}" font-size="11">{text}</text>')
    if r.get("prosody_stopped"):
        out.append(f'<text x="{LEFT}" y="{H - 4}" fill="#a00" font-size="11">Prosody: {escape(r["prosody_stopped"])}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> int:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "results" / "scaling.json"
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "scaling.svg"
    dst.write_text(render(json.loads(src.read_text())))
    print(f"wrote {dst}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
