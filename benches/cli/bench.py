#!/usr/bin/env python3
"""Benchmarks 3 and 4 of issue 7: the `xmpp-invites` CLI against stock
Prosody 0.12.3 (`prosodyctl mod_invites generate`, default file storage),
and how both scale with the number of pending invites in the store.

Run through benches/cli/run.sh, which builds the CLI first. Standard
library only. Every command is timed end to end from this process:
perf_counter() around posix_spawn() and wait4(), stdout to /dev/null; the
Commands that are compared run alternately and the
median is reported. /bin/true is timed the same way, as the floor of
spawning a process from here.

Peak RSS comes from separate, untimed runs under /usr/bin/time (GNU time's
%M): wait4()'s ru_maxrss of a child spawned from Python cannot be trusted
below the driver's own RSS (~19 MB), because the kernel counts the
vfork()ed image's high-water mark before exec. Only where a run is far
above that (Prosody with 1M invites: GiB) is wait4()'s figure kept, to
avoid repeating a minute-long run.

Writes results/cli_vs_prosodyctl.json (benchmark 3) and
results/scaling.json (benchmark 4); --quick stops at 100k invites and
writes results/quick/ instead. --smoke (a test suite: ./scripts/test.sh
runs benches/cli/run.sh --smoke) runs every step of both on 100 and 1,000
invites with few repetitions, checks that every figure came out, and
writes under target/bench-cli/smoke-results/: the benches work; the
figures mean nothing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HOST = "example.com"
PROSODYCTL = "/usr/bin/prosodyctl"
FILL_LUA = HERE / "prosody" / "fill_internal.lua"
PLUGINS = HERE / "prosody"
EATMYDATA = Path("/usr/lib/x86_64-linux-gnu/libeatmydata.so")  # Debian's eatmydata: fsync() a no-op


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Failed(RuntimeError):
    pass


def spawn(argv: list[str], stdout: str = os.devnull, env: dict | None = None) -> tuple[float, int, str]:
    """Runs argv; returns (wall ms, peak RSS KiB, stderr). Raises on failure."""
    with tempfile.TemporaryFile() as err:
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ]
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env or os.environ, file_actions=actions)
        _, status, ru = os.wait4(pid, 0)
        ms = (time.perf_counter() - t0) * 1000
        err.seek(0)
        text = err.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise Failed(f"{' '.join(argv)} exited with {code}: {text.strip()}")
    return ms, ru.ru_maxrss, text


def fsync_probe(path: Path) -> float:
    """ms to write 4 KiB to a new file and fsync() it and its directory --
    what SQLite does when it creates the -wal file -- on the store's disk."""
    t0 = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, b"\0" * 4096)
        os.fsync(fd)
    finally:
        os.close(fd)
    d = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(d)
    finally:
        os.close(d)
    ms = (time.perf_counter() - t0) * 1000
    path.unlink()
    return ms


def pressure_io() -> str:
    try:
        return Path("/proc/pressure/io").read_text().splitlines()[0]
    except OSError:
        return ""


def peak_rss(argv: list[str]) -> int:
    """Peak RSS in KiB of one untimed run, as /usr/bin/time -f %M reports it."""
    with tempfile.NamedTemporaryFile("r") as tv:
        spawn(["/usr/bin/time", "-f", "%M", "-o", tv.name, *argv])
        return int(tv.read().split()[-1])


def summary(runs: list[float]) -> dict:
    return {
        "median": statistics.median(runs),
        "min": min(runs),
        "max": max(runs),
        "n": len(runs),
        "runs": [round(r, 3) for r in runs],
    }


def machine() -> dict:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = next(
        (l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")),
        "0",
    )
    prosody = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "prosody"], capture_output=True, text=True)
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = ""
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "mem_gib": round(int(mem) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "prosody": prosody.stdout.strip(),
        "lua": "lua5.4",
        "sqlite_python": sqlite3.sqlite_version,
        "git": rev,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "loadavg_start": os.getloadavg(),
        "pressure_io_start": pressure_io(),
    }


class ProsodyStore:
    """A throw-away Prosody config (as tests/prosody/harness.py writes one:
    a data dir, run_as_root) with the default storage, `internal`."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.data = workdir / "data"
        shutil.rmtree(workdir, ignore_errors=True)
        (workdir / "certs").mkdir(parents=True)
        self.data.mkdir()
        self.config = workdir / "prosody.cfg.lua"
        self.config.write_text(f"""
-- Written by benches/cli/bench.py; thrown away with {workdir}.
pidfile = "{workdir}/prosody.pid"
data_path = "{self.data}"
plugin_paths = {{ "{PLUGINS}" }}
run_as_root = true
certificates = "{workdir}/certs"
modules_enabled = {{ "invites" }}
storage = "internal"
log = {{ error = "{workdir}/prosody.log" }}
VirtualHost "{HOST}"
""")

    @property
    def file(self) -> Path:
        return self.data / "example%2ecom" / "invite_token.dat"

    def generate_argv(self) -> list[str]:
        return [PROSODYCTL, "--config", str(self.config), "mod_invites", "generate", HOST]

    def get_argv(self, token: str) -> list[str]:
        return [PROSODYCTL, "--config", str(self.config), "mod_bench_invites", "get", HOST, token]

    def generate(self) -> tuple[float, int]:
        ms, rss, _ = spawn(self.generate_argv())
        return ms, rss

    def get(self, token: str) -> tuple[float, float, int]:
        """(end-to-end ms, in-process get() ms, peak RSS KiB)."""
        with tempfile.NamedTemporaryFile("r") as out:
            ms, rss, _ = spawn(self.get_argv(token), stdout=out.name)
            # The last line: prosodyctl may print its dependency notices
            # (such as a missing lua-unbound) to stdout first.
            lines = [line for line in out.read().splitlines() if line.strip()]
            seconds, kind, err = lines[-1].split() if lines else ("-", "-", "no output")
        if kind != "register" or err != "-":
            raise Failed(f"Prosody's get({token}) says {kind} {err}")
        return ms, float(seconds) * 1000, rss

    def fill(self, n: int, sample: int) -> tuple[float, list[str]]:
        t0 = time.perf_counter()
        p = subprocess.run(
            ["lua5.4", str(FILL_LUA), str(self.data), HOST, str(n), str(sample)],
            capture_output=True, text=True, check=True,
        )
        return time.perf_counter() - t0, p.stdout.split()


class Ours:
    def __init__(self, binary: Path, db: Path):
        self.bin = str(binary)
        self.db = db
        db.parent.mkdir(parents=True, exist_ok=True)
        for p in db.parent.glob(db.name + "*"):
            p.unlink()

    def cmd(self, *args: str) -> list[str]:
        return [self.bin, "--database", str(self.db), *args]

    def create(self, count: int = 1, env: dict | None = None) -> tuple[float, int]:
        extra = ["--count", str(count)] if count > 1 else []
        ms, rss, _ = spawn(self.cmd("create", "account", HOST, *extra), env=env)
        return ms, rss

    def validate(self, token: str) -> tuple[float, int]:
        ms, rss, _ = spawn(self.cmd("validate", HOST, token))
        return ms, rss

    def list_json(self) -> tuple[float, int, int]:
        """(ms, peak RSS KiB as /usr/bin/time -v reports it, wait4's peak RSS
        KiB of the whole run). JSON to /dev/null."""
        with tempfile.NamedTemporaryFile("r") as tv:
            ms, rss_all, _ = spawn(["/usr/bin/time", "-v", "-o", tv.name, *self.cmd("list", HOST, "--json")])
            rss = next(int(l.split(":")[1]) for l in tv.read().splitlines() if "Maximum resident set size" in l)
        return ms, rss, rss_all

    def pending(self) -> int:
        with closing(sqlite3.connect(self.db)) as c:
            return c.execute(
                "SELECT count(*) FROM prosody WHERE host = ? AND user = '' AND store = 'invite_token'", (HOST,)
            ).fetchone()[0]

    def sample_tokens(self, k: int) -> list[str]:
        """k host-level tokens spread evenly over the table (by rowid)."""
        with closing(sqlite3.connect(self.db)) as c:
            top = c.execute("SELECT max(rowid) FROM prosody").fetchone()[0]
            rowids = [1 + (top - 1) * i // max(1, k - 1) for i in range(k)]
            out = []
            for r in rowids:
                row = c.execute(
                    "SELECT key FROM prosody WHERE rowid >= ? AND user = '' AND store = 'invite_token' "
                    "ORDER BY rowid LIMIT 1", (r,)
                ).fetchone()
                if row:
                    out.append(row[0])
        return out

    def query_diagnostic(self, tokens: list[str]) -> dict:
        """The lookup `validate` runs (`entries()` in store/sql.rs), timed
        alone through Python's sqlite3, through each index: Prosody's
        (host, user, store, key), which narrows it to the host only since the
        user is not given (what the CLI did before it added its own), and the
        CLI's partial token index on (host, key), what it uses now. Not the
        CLI: evidence for what its validate cost is made of."""
        lookup = (
            'SELECT "host", "user", "key", "type", "value" FROM "prosody" INDEXED BY "{}" '
            "WHERE \"host\" = ?1 AND \"store\" = 'invite_token' AND \"key\" = ?2"
        )
        res = {}
        with closing(sqlite3.connect(self.db)) as c:
            for name, q in (("prosody_index", lookup.format("prosody_index")),
                            ("token_index", lookup.format("xmpp_invites_token_index"))):
                runs = []
                for t in tokens:
                    t0 = time.perf_counter()
                    rows = c.execute(q, (HOST, t)).fetchall()
                    runs.append((time.perf_counter() - t0) * 1000)
                    assert rows and rows[0][2] == t
                res[name] = {"ms": summary(runs),
                             "plan": [r[3] for r in c.execute("EXPLAIN QUERY PLAN " + q, (HOST, "x"))]}
        return res


# ---------------------------------------------------------------- benchmark 3


def bench3(ours_bin: Path, work: Path, quick: bool, smoke: bool = False) -> dict:
    log("benchmark 3: one invite, ours vs prosodyctl mod_invites generate (fresh stores)")
    ours = Ours(ours_bin, work / "b3" / "ours.sqlite3")
    prosody = ProsodyStore(work / "b3" / "prosody")
    eatmydata = EATMYDATA
    # Warm-up: creates both stores and fills the page cache.
    ours.create(), prosody.generate(), spawn(["/bin/true"])
    n = 5 if smoke else 50
    runs = {"ours": [], "prosodyctl": [], "true": [], "fsync": [], "ours_rss": [], "prosodyctl_rss": []}
    if eatmydata.exists():
        runs["ours_no_fsync"] = []
    for _ in range(n):
        ms, rss = ours.create()
        runs["ours"].append(ms), runs["ours_rss"].append(rss)
        ms, rss = prosody.generate()
        runs["prosodyctl"].append(ms), runs["prosodyctl_rss"].append(rss)
        runs["true"].append(spawn(["/bin/true"])[0])
        runs["fsync"].append(fsync_probe(ours.db.parent / "fsync-probe"))
        if eatmydata.exists():
            # Diagnostic only: the same command with fsync() made a no-op.
            env = os.environ | {"LD_PRELOAD": str(eatmydata)}
            runs["ours_no_fsync"].append(ours.create(env=env)[0])
    one = {k: summary(v) for k, v in runs.items() if not k.endswith("_rss")}
    rss_runs = 1 if smoke else 3
    one["ours"]["max_rss_kib"] = max(peak_rss(ours.cmd("create", "account", HOST)) for _ in range(rss_runs))
    one["prosodyctl"]["max_rss_kib"] = max(peak_rss(prosody.generate_argv()) for _ in range(rss_runs))
    one["ratio"] = one["prosodyctl"]["median"] / one["ours"]["median"]
    one["target_ratio"] = 10
    log(f"  ours {one['ours']['median']:.2f} ms, prosodyctl {one['prosodyctl']['median']:.2f} ms, "
        f"ratio {one['ratio']:.1f}")

    log("benchmark 3: 1,000 invites: ours --count 1000 (5 runs) vs 1,000 prosodyctl runs")
    batch = [ours.create(1000)[0] for _ in range(2 if smoke else 5)]
    thousand = {
        "ours_count_1000_ms": summary(batch),
        "prosodyctl_x1000_extrapolated_ms": one["prosodyctl"]["median"] * 1000,
        "extrapolated_from": f"median of {n} prosodyctl runs x 1000",
    }
    if not quick:
        # The real thing, on a fresh Prosody store: it grows from 0 to 1,000
        # invites, and every run rewrites the whole file.
        real = ProsodyStore(work / "b3" / "prosody-1000")
        t0 = time.perf_counter()
        per = [real.generate()[0] for _ in range(1000)]
        thousand["prosodyctl_x1000_measured_ms"] = (time.perf_counter() - t0) * 1000
        thousand["prosodyctl_x1000_runs"] = summary(per) | {"first_50_median": statistics.median(per[:50]),
                                                            "last_50_median": statistics.median(per[-50:])}
        base = thousand["prosodyctl_x1000_measured_ms"]
        thousand["baseline"] = "measured"
    else:
        base = thousand["prosodyctl_x1000_extrapolated_ms"]
        thousand["baseline"] = "extrapolated"
    thousand["percent_of_prosodyctl"] = 100 * thousand["ours_count_1000_ms"]["median"] / base
    thousand["target_percent"] = 1
    log(f"  ours --count 1000 {thousand['ours_count_1000_ms']['median']:.1f} ms = "
        f"{thousand['percent_of_prosodyctl']:.3f}% of {base / 1000:.1f} s")
    return {"one_invite_ms": one, "thousand_invites": thousand}


# ---------------------------------------------------------------- benchmark 4


def grow(ours: Ours, target: int) -> float:
    """Adds invites with the CLI's --count (10000 at most per run) until
    `target` are pending; returns the seconds it took."""
    t0 = time.perf_counter()
    have = ours.pending() if ours.db.exists() else 0
    while have < target:
        step = min(10000, target - have)
        ours.create(step) if step > 1 else ours.create()
        have += step
    return time.perf_counter() - t0


def bench4_ours(ours_bin: Path, work: Path, levels: list[int], reps: int, list_reps: int,
                batch_reps: int) -> list[dict]:
    """One store per level, all filled first; then every measurement goes
    round the levels in turn, so that all levels see the same machine (this
    VM's fsync latency swings between ~0.6 and ~8 ms with other jobs' I/O,
    and a create is 5 fsyncs)."""
    stores = {lv: Ours(ours_bin, work / f"ours-{lv}.sqlite3") for lv in levels}
    res = {lv: {"invites": lv} for lv in levels}
    for lv, ours in stores.items():
        res[lv]["fill_s"] = grow(ours, lv)
        res[lv]["fill_method"] = "xmpp-invites create account --count 10000 (the CLI itself; --count 1000 below 10k)"
        log(f"  ours: {lv} pending (filled in {res[lv]['fill_s']:.1f} s)")
    tokens = {lv: ours.sample_tokens(reps) for lv, ours in stores.items()}
    no_fsync = os.environ | {"LD_PRELOAD": str(EATMYDATA)} if EATMYDATA.exists() else None
    keys = ["create", "create_rss", "validate", "validate_rss", "create_no_fsync", "fsync"]
    runs = {lv: {k: [] for k in keys} for lv in levels}
    for i in range(reps):
        for lv, ours in stores.items():
            r = runs[lv]
            ms, rss = ours.create()
            r["create"].append(ms), r["create_rss"].append(rss)
            ms, rss = ours.validate(tokens[lv][i % len(tokens[lv])])
            r["validate"].append(ms), r["validate_rss"].append(rss)
            if no_fsync:
                # Diagnostic only: the same create with fsync() a no-op.
                r["create_no_fsync"].append(ours.create(env=no_fsync)[0])
            r["fsync"].append(fsync_probe(ours.db.parent / "fsync-probe"))
    lists = {lv: [] for lv in levels}
    listed = {lv: ours.pending() for lv, ours in stores.items()}
    for _ in range(list_reps):
        for lv, ours in stores.items():
            lists[lv].append(ours.list_json())
    batches = {lv: [] for lv in levels}
    for _ in range(batch_reps):
        for lv, ours in stores.items():
            batches[lv].append(ours.create(1000)[0] / 1000)
    out = []
    for lv, ours in stores.items():
        r, run = res[lv], runs[lv]
        r |= {
            "create_ms": summary(run["create"]) | {"max_rss_kib": max(peak_rss(ours.cmd("create", "account", HOST))
                                                                      for _ in range(2))},
            "create_amortised_ms": summary(batches[lv]) | {"note": "--count 1000 run time / 1000"},
            "validate_ms": summary(run["validate"]) | {"max_rss_kib": max(peak_rss(ours.cmd("validate", HOST, t))
                                                                          for t in tokens[lv][:2])},
            "fsync_probe_ms": summary(run["fsync"]),
            "list_ms": summary([l[0] for l in lists[lv]]) | {"invites_listed": listed[lv]},
            "list_per_invite_ms": statistics.median(l[0] for l in lists[lv]) / listed[lv],
            "list_max_rss_kib": max(l[1] for l in lists[lv]),
            "db_bytes": sum(p.stat().st_size for p in ours.db.parent.glob(ours.db.name + "*")),
            "validate_lookup_diagnostic": ours.query_diagnostic(tokens[lv][: min(10, len(tokens[lv]))]),
        }
        if run["create_no_fsync"]:
            r["create_no_fsync_ms"] = summary(run["create_no_fsync"]) | {"note": "diagnostic: LD_PRELOAD=libeatmydata.so"}
        log(f"  ours at {lv}: create {r['create_ms']['median']:.2f} ms"
            + (f" ({r['create_no_fsync_ms']['median']:.2f} without fsync)" if run["create_no_fsync"] else "")
            + f", --count 1000 {r['create_amortised_ms']['median'] * 1000:.1f} us/invite, "
            f"validate {r['validate_ms']['median']:.2f} ms, list {r['list_ms']['median']:.0f} ms "
            f"({r['list_per_invite_ms'] * 1000:.2f} us/invite, {r['list_max_rss_kib']} KiB); "
            f"fsync probe {r['fsync_probe_ms']['median']:.2f} ms")
        out.append(r)
    return out


def bench4_prosody(work: Path, level: int, reps: int) -> dict:
    store = ProsodyStore(work / f"prosody-{level}")
    fill, tokens = store.fill(level, reps)
    log(f"  prosody internal: {level} invites written in {fill:.1f} s ({store.file.stat().st_size} bytes)")
    gen, gen_rss, get_e2e, get_in, get_rss = [], [], [], [], []
    for i in range(reps):
        ms, rss = store.generate()
        gen.append(ms), gen_rss.append(rss)
        e2e, inproc, rss = store.get(tokens[i % len(tokens)])
        get_e2e.append(e2e), get_in.append(inproc), get_rss.append(rss)
    if level <= 100_000:
        gen_rss_kib, get_rss_kib = peak_rss(store.generate_argv()), peak_rss(store.get_argv(tokens[0]))
        rss_method = "/usr/bin/time -f %M, one untimed run each"
    else:
        gen_rss_kib, get_rss_kib = max(gen_rss), max(get_rss)
        rss_method = "wait4() ru_maxrss of the timed runs (far above the driver's own RSS, so valid)"
    r = {
        "invites": level,
        "fill_s": fill,
        "fill_method": "benches/cli/prosody/fill_internal.lua: Prosody's util.id/util.serialization, "
                       "records as mod_invites generate makes them",
        "file_bytes": store.file.stat().st_size,
        "generate_ms": summary(gen) | {"max_rss_kib": gen_rss_kib},
        "validate_get_inprocess_ms": summary(get_in),
        "validate_get_e2e_ms": summary(get_e2e) | {"max_rss_kib": get_rss_kib},
        "rss_method": rss_method,
    }
    log(f"    generate {r['generate_ms']['median']:.1f} ms, get() {r['validate_get_inprocess_ms']['median']:.2f} ms "
        f"in process, {r['validate_get_e2e_ms']['median']:.1f} ms end to end")
    shutil.rmtree(store.workdir, ignore_errors=True)
    return r


def bench4(ours_bin: Path, work: Path, quick: bool, prosody_budget_s: float, smoke: bool = False) -> dict:
    levels = [100, 1000] if smoke else [1000, 100_000] if quick else [1000, 100_000, 1_000_000]
    out = {"levels": levels, "prosody_stopped": None}
    log(f"benchmark 4: ours, {levels} pending invites, measured round the levels")
    out["ours"] = bench4_ours(ours_bin, work / "b4", levels, *((3, 1, 1) if smoke else (21, 3, 5)))
    for p in (work / "b4").glob("ours-*"):
        p.unlink()
    out["prosody_internal"] = []
    prosody_spent = 0.0
    for level in levels:
        log(f"benchmark 4: Prosody's file store, {level} invites")
        preps = 2 if smoke else {1000: 21, 100_000: 5}.get(level, 2)
        if out["prosody_internal"]:
            # Everything in the file store is linear in its size: project
            # this level from the last one and stop when over budget.
            last = out["prosody_internal"][-1]
            scale = level / last["invites"]
            projected = scale * (last["fill_s"] + preps * (last["generate_ms"]["median"]
                                                           + last["validate_get_e2e_ms"]["median"]) / 1000)
            if prosody_spent + projected > prosody_budget_s:
                out["prosody_stopped"] = (
                    f"stopped before {level}: projected {projected:.0f} s for this level on top of "
                    f"{prosody_spent:.0f} s spent, over the {prosody_budget_s:.0f} s budget")
                log("  prosody: " + out["prosody_stopped"])
                break
        t0 = time.perf_counter()
        out["prosody_internal"].append(bench4_prosody(work / "b4", level, preps))
        prosody_spent += time.perf_counter() - t0
    out["prosody_seconds"] = prosody_spent
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", type=Path, default=ROOT / "target" / "release" / "xmpp-invites")
    ap.add_argument("--work", type=Path, default=ROOT / "target" / "bench-cli")
    ap.add_argument("--quick", action="store_true", help="stop at 100k invites; results/quick/")
    ap.add_argument("--smoke", action="store_true",
                    help="100 and 1,000 invites, few runs, every figure checked; target/bench-cli/smoke-results/")
    ap.add_argument("--only", choices=["3", "4"], help="run one benchmark")
    ap.add_argument("--prosody-budget", type=float, default=600,
                    help="seconds benchmark 4 may spend on Prosody's file store (default 600)")
    ap.add_argument("--keep", action="store_true", help="keep the stores under --work")
    a = ap.parse_args()

    if a.smoke:
        results = ROOT / "target" / "bench-cli" / "smoke-results"
    else:
        results = HERE / "results" / ("quick" if a.quick else "")
    results.mkdir(parents=True, exist_ok=True)
    a.work.mkdir(parents=True, exist_ok=True)
    mode = "smoke" if a.smoke else "quick" if a.quick else "full"
    meta = machine() | {"mode": mode, "cli": str(a.bin),
                        "command": "benches/cli/run.sh" + ("" if mode == "full" else f" --{mode}")}
    floor = summary([spawn(["/bin/true"])[0] for _ in range(30)])
    meta["spawn_true_ms"] = floor
    t0 = time.perf_counter()
    if a.only in (None, "3"):
        r3 = bench3(a.bin, a.work, a.quick, a.smoke)
        r = {"machine": meta | {"loadavg_end": os.getloadavg(), "pressure_io_end": pressure_io()}} | r3
        (results / "cli_vs_prosodyctl.json").write_text(json.dumps(r, indent=1) + "\n")
    if a.only in (None, "4"):
        r4 = bench4(a.bin, a.work, a.quick, a.prosody_budget, a.smoke)
        r = {"machine": meta | {"loadavg_end": os.getloadavg(), "pressure_io_end": pressure_io()}} | r4
        (results / "scaling.json").write_text(json.dumps(r, indent=1) + "\n")
    if not a.keep:
        for sub in ("b3", "b4"):
            shutil.rmtree(a.work / sub, ignore_errors=True)
    log(f"done in {time.perf_counter() - t0:.0f} s; results in {results}")
    if a.smoke:
        missing = smoke_check(results, a.only)
        if missing:
            log("smoke: figures missing or not positive: " + ", ".join(missing))
            return 1
        log("smoke: every figure came out")
    return 0


def smoke_check(results: Path, only: str | None) -> list[str]:
    """The figures that a report reads, where one is missing or not a
    positive number."""
    bad = []

    def need(where: str, value) -> None:
        if not isinstance(value, (int, float)) or not value > 0:
            bad.append(f"{where}={value!r}")

    if only in (None, "3"):
        r3 = json.loads((results / "cli_vs_prosodyctl.json").read_text())
        one = r3["one_invite_ms"]
        for side in ("ours", "prosodyctl"):
            need(f"3 {side} median", one[side]["median"])
            need(f"3 {side} max_rss_kib", one[side]["max_rss_kib"])
        need("3 ratio", one["ratio"])
        need("3 --count 1000", r3["thousand_invites"]["ours_count_1000_ms"]["median"])
        need("3 percent", r3["thousand_invites"]["percent_of_prosodyctl"])
    if only in (None, "4"):
        r4 = json.loads((results / "scaling.json").read_text())
        if len(r4["ours"]) != len(r4["levels"]):
            bad.append(f"4 ours: {len(r4['ours'])} of {len(r4['levels'])} levels")
        for r in r4["ours"]:
            lv = r["invites"]
            for k in ("create_ms", "validate_ms", "list_ms", "create_amortised_ms"):
                need(f"4 ours {lv} {k}", r[k]["median"])
            need(f"4 ours {lv} list_max_rss_kib", r["list_max_rss_kib"])
            if r["list_ms"]["invites_listed"] < lv:
                bad.append(f"4 ours {lv}: listed {r['list_ms']['invites_listed']}")
        if len(r4["prosody_internal"]) != len(r4["levels"]):
            bad.append(f"4 prosody: {len(r4['prosody_internal'])} of {len(r4['levels'])} levels")
        for r in r4["prosody_internal"]:
            lv = r["invites"]
            need(f"4 prosody {lv} generate", r["generate_ms"]["median"])
            need(f"4 prosody {lv} get", r["validate_get_inprocess_ms"]["median"])
    return bad


if __name__ == "__main__":
    sys.exit(main())
