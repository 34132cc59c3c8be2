#!/usr/bin/env python3
"""Prints the tables of benches/cli/README.md (Markdown) from the results.

    python3 benches/cli/report.py [RESULTS_DIR]     (default benches/cli/results)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def ms(v: float) -> str:
    if v >= 10_000:
        return f"{v / 1000:,.1f} s"
    if v >= 100:
        return f"{v:,.0f} ms"
    if v >= 1:
        return f"{v:.2f} ms"
    return f"{v * 1000:.1f} µs"


def count(n: int) -> str:
    return {1000: "1k", 100_000: "100k", 1_000_000: "1M"}.get(n, f"{n:,}")


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def bench3(r: dict) -> None:
    one, k = r["one_invite_ms"], r["thousand_invites"]
    m = r["machine"]
    print(f"Machine: {m['nproc']} × {m['cpu']}, {m['mem_gib']} GiB, Linux {m['kernel']}, Prosody {m['prosody']}; "
          f"load average {m['loadavg_start'][0]:.1f} at the start, {m['loadavg_end'][0]:.1f} at the end; "
          f"spawning /bin/true from the driver: median {ms(one['true']['median'])}"
          + (f"; a 4 KiB write + fsync() of the file and its directory on the stores' disk, between the runs: "
             f"median {ms(one['fsync']['median'])} (min {ms(one['fsync']['min'])}, max {ms(one['fsync']['max'])})"
             if "fsync" in one else "") + ".\n")
    print("| benchmark 3 | ours | stock Prosody | ratio | target |")
    print("|---|---|---|---|---|")
    o, p = one["ours"], one["prosodyctl"]
    print(f"| one account invite, end to end (median of {o['n']}, alternating) | {ms(o['median'])} "
          f"| {ms(p['median'])} | {one['ratio']:.1f}× faster | ≥ 10×: {verdict(one['ratio'] >= 10)} |")
    print(f"| same, fastest of the {o['n']} runs | {ms(o['min'])} | {ms(p['min'])} | {p['min'] / o['min']:.1f}× | |")
    if "ours_no_fsync" in one:
        nf = one["ours_no_fsync"]
        print(f"| same, ours with fsync() a no-op (eatmydata; diagnostic only) | {ms(nf['median'])} "
              f"| {ms(p['median'])} | {p['median'] / nf['median']:.1f}× | — |")
    base_kind = k["baseline"]
    base = k["prosodyctl_x1000_measured_ms"] if base_kind == "measured" else k["prosodyctl_x1000_extrapolated_ms"]
    what = ("1,000 runs, measured" if base_kind == "measured" else "median × 1,000, extrapolated")
    print(f"| 1,000 invites: `--count 1000` vs 1,000 `prosodyctl` runs ({what}) "
          f"| {ms(k['ours_count_1000_ms']['median'])} | {ms(base)} | {k['percent_of_prosodyctl']:.3f} % "
          f"| < 1 %: {verdict(k['percent_of_prosodyctl'] < 1)} |")
    if base_kind == "measured":
        print(f"| (the same 1,000 prosodyctl runs extrapolated from the median of {p['n']}) | | "
              f"{ms(k['prosodyctl_x1000_extrapolated_ms'])} | "
              f"{100 * k['ours_count_1000_ms']['median'] / k['prosodyctl_x1000_extrapolated_ms']:.3f} % | |")
    print(f"\nPeak RSS of one invite (GNU time, max of 3 runs): ours {o['max_rss_kib'] / 1024:.1f} MiB, "
          f"prosodyctl {p['max_rss_kib'] / 1024:.1f} MiB.")
    print()


def bench4(r: dict) -> None:
    ours, pros = r["ours"], {p["invites"]: p for p in r["prosody_internal"]}
    print("| pending invites | create, one (end to end): median (min) | same, fsync() off (diagnostic) "
          "| create, per invite of `--count 1000` "
          "| validate (end to end): median (min) | `list --json` total | list per invite | list peak RSS | DB size | fsync probe |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for o in ours:
        probe = ms(o["fsync_probe_ms"]["median"]) if "fsync_probe_ms" in o else "—"
        nofs = (f"{ms(o['create_no_fsync_ms']['median'])} ({ms(o['create_no_fsync_ms']['min'])})"
                if "create_no_fsync_ms" in o else "—")
        print(f"| {count(o['invites'])} | {ms(o['create_ms']['median'])} ({ms(o['create_ms']['min'])}) | {nofs} "
              f"| {ms(o['create_amortised_ms']['median'])} "
              f"| {ms(o['validate_ms']['median'])} ({ms(o['validate_ms']['min'])}) | {ms(o['list_ms']['median'])} | {ms(o['list_per_invite_ms'])} "
              f"| {o['list_max_rss_kib'] / 1024:.1f} MiB | {o['db_bytes'] / 2**20:.0f} MiB | {probe} |")
    first, last = ours[0], ours[-1]
    span = f"{count(first['invites'])} → {count(last['invites'])}"
    for name, key in (("create, one", "create_ms"), ("create, one, fsync() off", "create_no_fsync_ms"),
                      ("create, per invite of --count 1000", "create_amortised_ms"), ("validate", "validate_ms")):
        if key not in last or key not in first:
            continue
        g = last[key]["median"] / first[key]["median"]
        gm = last[key]["min"] / first[key]["min"]
        print(f"\n- {name}: ×{g:.2f} from {span} by the medians ({verdict(g <= 1.5)}), "
              f"×{gm:.2f} by the fastest runs ({verdict(gm <= 1.5)}); target ≤ 1.5×", end="")
    cv = [o[k]["max_rss_kib"] for o in ours for k in ("create_ms", "validate_ms")]
    print(f"\n- create and validate peak RSS: {min(cv) / 1024:.1f} – {max(cv) / 1024:.1f} MiB across {span}", end="")
    rss = [o["list_max_rss_kib"] for o in ours]
    print(f"\n- list peak RSS: {min(rss) / 1024:.1f} – {max(rss) / 1024:.1f} MiB across {span} (bounded: "
          f"{verdict(max(rss) < 2 * min(rss))})\n")

    print("| pending invites | ours: create (end to end) | Prosody: `mod_invites generate` (end to end) | ratio "
          "| ours: validate (end to end) | Prosody: `get()` in process | Prosody: validate via prosodyctl "
          "| ratio (end to end) | Prosody store file |")
    print("|---|---|---|---|---|---|---|---|---|")
    for o in ours:
        p = pros.get(o["invites"])
        if not p:
            print(f"| {count(o['invites'])} | {ms(o['create_ms']['median'])} | not run | "
                  f"| {ms(o['validate_ms']['median'])} | not run | not run | | |")
            continue
        print(f"| {count(o['invites'])} | {ms(o['create_ms']['median'])} | {ms(p['generate_ms']['median'])} "
              f"(n={p['generate_ms']['n']}) | {p['generate_ms']['median'] / o['create_ms']['median']:,.0f}× "
              f"| {ms(o['validate_ms']['median'])} | {ms(p['validate_get_inprocess_ms']['median'])} "
              f"| {ms(p['validate_get_e2e_ms']['median'])} (n={p['validate_get_e2e_ms']['n']}) "
              f"| {p['validate_get_e2e_ms']['median'] / o['validate_ms']['median']:,.0f}× "
              f"| {p['file_bytes'] / 2**20:.1f} MiB |")
    if r.get("prosody_stopped"):
        print(f"\nProsody: {r['prosody_stopped']}")
    print("\nThe lookup `validate` runs, timed alone (Python's sqlite3, median of 10 tokens):\n")
    print("| pending invites | through Prosody's index (host prefix only; before) | through the token index (now) |")
    print("|---|---|---|")
    for o in ours:
        d = o["validate_lookup_diagnostic"]
        print(f"| {count(o['invites'])} | {ms(d['prosody_index']['ms']['median'])} "
              f"| {ms(d['token_index']['ms']['median'])} |")
    m = r["machine"]
    ours_fill = ", ".join(f"{count(o['invites'])} in {o['fill_s']:.1f} s" for o in ours)
    pros_fill = ", ".join(f"{count(p['invites'])} in {p['fill_s']:.1f} s" for p in r["prosody_internal"])
    print(f"\nFill: ours {ours_fill} (one store per level, with the CLI); Prosody {pros_fill}. "
          f"Prosody's file store took {r['prosody_seconds']:.0f} s of the run. Load average "
          f"{m['loadavg_start'][0]:.1f} at the start, {m['loadavg_end'][0]:.1f} at the end.")


def main() -> int:
    d = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "results"
    if (d / "cli_vs_prosodyctl.json").exists():
        bench3(json.loads((d / "cli_vs_prosodyctl.json").read_text()))
    if (d / "scaling.json").exists():
        bench4(json.loads((d / "scaling.json").read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
