"""Turns bench/run's raw results into summary.json, plot.png and the results part of BENCHMARKS.md.

Usage (bench/run calls it): report.py --results DIR --rounds DIR --seeding TSV --memory TSV
    --load TSV --anatomy TSV --sizes 1k 10k 100k --markdown FILE
"""

import argparse
import json
import re
import statistics
from pathlib import Path

SIZES = ["1k", "10k", "100k"]  # set from --sizes (a quick run has no 100k)
SIZE_N = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
GROUPS = ["references", "reads", "postgres", "member-add", "rotation"]
MIB = 1024  # /usr/bin/time reports KiB
MEMORY_LIMIT_KIB = 30 * MIB
BEGIN = "<!-- results:begin (bench/run rewrites this part) -->"
END = "<!-- results:end -->"


def merge_rounds(rounds: Path, results: Path) -> None:
    """Pools the runs of every round of a group into results/GROUP.json (hyperfine's layout)."""
    groups = {}
    for path in sorted(rounds.glob("*.json")):
        group = path.name.split(".")[0]
        for r in json.loads(path.read_text())["results"]:
            groups.setdefault(group, {}).setdefault(r["command"], []).append(r)
    for group, commands in groups.items():
        merged = []
        for name, parts in commands.items():
            times = [x for p in parts for x in p["times"]]
            n = len(times)
            mean = statistics.fmean(times)
            merged.append({
                "command": name,
                "rounds": len(parts),
                "mean": mean,
                "stddev": statistics.stdev(times) if n > 1 else 0.0,
                "median": statistics.median(times),
                "min": min(times),
                "max": max(times),
                "user": sum(p["user"] * len(p["times"]) for p in parts) / n,
                "system": sum(p["system"] * len(p["times"]) for p in parts) / n,
                "round_medians": [p["median"] for p in parts],
                "times": times,
            })
        (results / f"{group}.json").write_text(json.dumps({"results": merged}, indent=1) + "\n")


def load_hyperfine(results: Path) -> dict:
    """Every command by name: median, mean, stddev, min, max (seconds), runs and CPU time."""
    out = {}
    for name in GROUPS:
        path = results / f"{name}.json"
        if not path.exists():
            continue
        for r in json.loads(path.read_text())["results"]:
            out[r["command"]] = {
                "median": r["median"],
                "mean": r["mean"],
                "stddev": r["stddev"],
                "min": r["min"],
                "max": r["max"],
                "runs": len(r["times"]),
                "cpu": r["user"] + r["system"],
            }
    return out


def load_tsv(path: Path) -> list:
    return [line.rstrip("\n").split("\t") for line in path.read_text().splitlines() if line]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}" if seconds < 1 else f"{seconds * 1000:,.0f}"


def cell(t: dict, name: str) -> str:
    r = t.get(name)
    if r is None:
        return "–"
    return f"{ms(r['median'])} ± {ms(r['stddev'])}"


def targets(t: dict, memory: list) -> list:
    """Each target: (name, met, evidence)."""
    med = lambda n: t[n]["median"]  # noqa: E731
    out = []

    age = med("age -d")
    worst = max(SIZES, key=lambda k: med(f"env spread-{k}"))
    ratio = med(f"env spread-{worst}") / age
    out.append((
        "`connection env` at most 1.2 × `age -d`",
        ratio <= 1.2,
        f"slowest env median (spread-{worst}) {ms(med(f'env spread-{worst}'))} ms vs age -d "
        f"{ms(age)} ms: {ratio:.2f} × (fastest runs: {ms(t[f'env spread-{worst}']['min'])} vs "
        f"{ms(t['age -d']['min'])} ms; CPU user+sys {ms(t[f'env spread-{worst}']['cpu'])} vs "
        f"{ms(t['age -d']['cpu'])} ms)",
    ))

    top = SIZES[-1]
    top_n = f"{SIZE_N[top]:,}"
    for layout in ["spread", "flat"]:
        a, b = med(f"env {layout}-1k"), med(f"env {layout}-{top}")
        growth = b / a - 1
        what = (f"1,000 to {top_n} connections in the store"
                if layout == "spread" else f"a workspace of 1,000 to one of {top_n}")
        out.append((
            f"`connection env` within 10 % from 1k to {top} ({layout} stores: {what})",
            abs(growth) <= 0.10,
            f"{ms(a)} ms → {ms(b)} ms ({growth:+.1%})",
        ))

    worst_list = max(med(f"list spread-{k}") for k in SIZES)
    out.append((
        "`connection list` of 1,000 connections under 20 ms",
        worst_list < 0.020,
        f"1,000-connection workspace in stores of {'/'.join(SIZES)}: "
        + " / ".join(f"{ms(med(f'list spread-{k}'))}" for k in SIZES) + " ms",
    ))

    # The target: member add against the number of connections, all else equal (flat stores: one
    # workspace of N). The spread stores also go from 1 to 100 workspaces, so they are shown as
    # information, not as the target.
    for layout in ["flat", "spread"]:
        a, b = med(f"member add {layout}-1k"), med(f"member add {layout}-{top}")
        growth = b / a - 1
        name = ("`member add` constant in the number of connections (one workspace of N; median "
                "within 10 %)" if layout == "flat" else
                "`member add` against store size (store of N: the workspaces also go from 1 to "
                "100; information, not the target)")
        out.append((
            name,
            abs(growth) <= 0.10 if layout == "flat" else None,
            " / ".join(f"{ms(med(f'member add {layout}-{k}'))}" for k in SIZES)
            + f" ms at {'/'.join(SIZES)} ({growth:+.1%}); CPU user+sys "
            + " / ".join(f"{ms(t[f'member add {layout}-{k}']['cpu'])}" for k in SIZES) + " ms",
        ))

    rot = med("member remove flat-10k")
    out.append((
        "rotation of 10,000 secrets under 2 s",
        rot < 2.0,
        f"`member remove` in a workspace of 10,000 secrets: {rot:.2f} s "
        f"(1,000 secrets: {med('member remove flat-1k'):.2f} s)",
    ))

    for layout, label in [("spread", f"{SIZE_N[top] // 1000} workspaces of 1,000"),
                          ("flat", f"one workspace of {top_n}")]:
        rows = [m for m in memory
                if m["name"].endswith(f"{layout}-{top}") and not m["name"].startswith("pg ")]
        if layout == "spread":
            rows += [m for m in memory if m["name"] == "ohx --version"]
        over = [m for m in rows if m["kib"] >= MEMORY_LIMIT_KIB]
        highest = max(rows, key=lambda m: m["kib"])
        evidence = f"highest: {highest['name']} {highest['kib'] / MIB:.1f} MiB"
        if over:
            evidence += "; over 30 MiB: " + ", ".join(
                f"{m['name']} {m['kib'] / MIB:.1f} MiB" for m in over)
        out.append((
            f"peak memory under 30 MiB for every command at {top_n} connections ({label})",
            not over,
            evidence,
        ))
    return out


def authority_targets(t: dict) -> list:
    """Issue 11, point 9: the cost of signed authority against the baseline, measured in the
    same hyperfine calls."""
    med = lambda n: t[n]["median"]  # noqa: E731
    out = []
    for layout in ["spread", "flat"]:
        ratios = [med(f"env {layout}-{k}") / med(f"baseline env {layout}-{k}") for k in SIZES]
        what = ("store of N, workspaces of 1,000" if layout == "spread"
                else "one workspace of N")
        out.append((
            f"`connection env` within 10 % of the time before signed authority ({what})",
            all(r <= 1.10 for r in ratios),
            " / ".join(f"{ms(med(f'env {layout}-{k}'))} vs {ms(med(f'baseline env {layout}-{k}'))}"
                       for k in SIZES)
            + f" ms at {'/'.join(SIZES)}: " + " / ".join(f"{r:.2f} ×" for r in ratios)
            + " (CPU user+sys " + " / ".join(
                f"{ms(t[f'env {layout}-{k}']['cpu'])} vs "
                f"{ms(t[f'baseline env {layout}-{k}']['cpu'])}" for k in SIZES) + " ms)",
        ))
    if "baseline member remove flat-10k" in t:
        now, before = med("member remove flat-10k"), med("baseline member remove flat-10k")
        out.append((
            "rotation of 10,000 secrets against the baseline (information; the target is 2 s)",
            None,
            f"{now:.2f} s vs {before:.2f} s: {now / before:.2f} ×",
        ))
    return out


def postgres_targets(t: dict, memory: list) -> list:
    """Issue 12, point 9: PostgreSQL on loopback against SQLite, measured in the same calls."""
    med = lambda n: t[n]["median"]  # noqa: E731
    out = []
    ratio = med("pg env 1k") / med("sqlite env 1k")
    if "pg env 1k held" in t:
        held = med("pg env 1k held") / med("sqlite env 1k")
        out.append((
            "`connection env` on PostgreSQL at most 2 × on SQLite, with `ohx store hold`",
            held <= 2.0,
            f"{ms(med('pg env 1k held'))} ms vs {ms(med('sqlite env 1k'))} ms: {held:.2f} ×",
        ))
    out.append((
        "`connection env` on PostgreSQL at most 2 × on SQLite, each command connecting",
        ratio <= 2.0,
        f"{ms(med('pg env 1k'))} ms vs {ms(med('sqlite env 1k'))} ms: {ratio:.2f} × (without "
        f"TLS {med('pg env 1k no-tls') / med('sqlite env 1k'):.2f} ×, through the Unix socket "
        f"without TLS or password {med('pg env 1k socket') / med('sqlite env 1k'):.2f} ×)",
    ))
    if "pg list 1k held" in t:
        out.append((
            "`connection list` of 1,000 on PostgreSQL under 20 ms, with `ohx store hold`",
            med("pg list 1k held") < 0.020,
            f"{ms(med('pg list 1k held'))} ms (SQLite {ms(med('sqlite list 1k'))} ms)",
        ))
    out.append((
        "`connection list` of 1,000 on PostgreSQL under 20 ms, each command connecting",
        med("pg list 1k") < 0.020,
        f"{ms(med('pg list 1k'))} ms (SQLite {ms(med('sqlite list 1k'))} ms)",
    ))
    rows = [m for m in memory if m["name"].startswith("pg ")]
    if rows:
        top = max(rows, key=lambda m: m["kib"])
        out.append((
            "peak memory on PostgreSQL under 30 MiB (every measured command, stores of up to "
            "10,000)",
            top["kib"] < MEMORY_LIMIT_KIB,
            f"highest: {top['name']} {top['kib'] / MIB:.1f} MiB",
        ))
    for what, pg, lite in [
        ("`member add` (workspace of 1,000)", "member add pg-spread-1k", "member add spread-1k"),
        ("`member add` (workspace of 10,000)", "member add pg-flat-10k", "member add flat-10k"),
        ("rotation of 10,000 secrets", "member remove pg-flat-10k", "member remove flat-10k"),
    ]:
        if pg in t and lite in t:
            out.append((
                f"{what} on PostgreSQL against SQLite (information)",
                None,
                f"{ms(med(pg))} ms vs {ms(med(lite))} ms: {med(pg) / med(lite):.2f} ×",
            ))
    return out


def anatomy(path: Path) -> dict:
    """What the server logged for each command run once: statements prepared (parse), executed
    (bind + execute), simple queries, the server's time in them, and the session's length."""
    out = {}
    for name, log in load_tsv(path):
        counts = {"parse": 0, "bind": 0, "execute": 0, "simple": 0}
        server_ms = 0.0
        session_ms = None
        for line in Path(log).read_text(errors="replace").splitlines():
            m = re.search(r"duration: ([0-9.]+) ms  (parse|bind|execute|statement)", line)
            if m:
                kind = "simple" if m.group(2) == "statement" else m.group(2)
                counts[kind] += 1
                server_ms += float(m.group(1))
                continue
            m = re.search(r"disconnection: session time: (\d+):(\d+):([0-9.]+)", line)
            if m:
                h, mi, sec = m.groups()
                session_ms = (int(h) * 3600 + int(mi) * 60 + float(sec)) * 1000
        # One round trip each: a prepare (Parse, Describe, Sync), a query (Bind, Execute, Sync),
        # a simple query; the connection itself is counted apart.
        counts["round_trips"] = counts["parse"] + counts["execute"] + counts["simple"]
        counts["server_ms"] = round(server_ms, 3)
        counts["session_ms"] = round(session_ms, 3) if session_ms is not None else None
        out[name] = counts
    return out


def plot(t: dict, memory: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [SIZE_N[k] for k in SIZES]
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6.5), gridspec_kw={"width_ratios": [3, 2]})

    def series(ax, fmt, label, names, scale=1000.0):
        pts = [(SIZE_N[k], t[n]["median"] * scale) for k, n in zip(SIZES, names) if n in t]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], fmt, label=label)

    series(left, "o-", "connection env (store of N, workspaces of 1,000)",
           [f"env spread-{k}" for k in SIZES])
    series(left, "o--", "connection env (one workspace of N)", [f"env flat-{k}" for k in SIZES])
    series(left, "x:", "connection env before signed authority (store of N)",
           [f"baseline env spread-{k}" for k in SIZES])
    if "pg env 1k" in t:
        left.plot([1_000], [t["pg env 1k"]["median"] * 1000], "P", color="C9",
                  label="connection env on PostgreSQL (loopback, TLS)")
        left.plot([1_000], [t["pg list 1k"]["median"] * 1000], "X", color="C9",
                  label="connection list on PostgreSQL")
    series(left, "s-", "connection list, 1,000 rows (store of N)",
           [f"list spread-{k}" for k in SIZES])
    series(left, "^-", "connection show --reveal (store of N)", [f"show spread-{k}" for k in SIZES])
    series(left, "d-", "member add (store of N)", [f"member add spread-{k}" for k in SIZES])
    series(left, "d--", "member add (one workspace of N)", [f"member add flat-{k}" for k in SIZES])
    for name, style in [("age -d", ":"), ("pass show", "-."), ("ohx --version", (0, (1, 3)))]:
        if name in t:
            left.axhline(t[name]["median"] * 1000, color="grey", linestyle=style, linewidth=1)
            left.annotate(f"{name} {t[name]['median'] * 1000:.1f} ms",
                          (1_300, t[name]["median"] * 1000), textcoords="offset points",
                          xytext=(0, 3), fontsize=8, color="dimgrey")
    left.axhline(20, color="red", linewidth=0.8, alpha=0.5)
    left.annotate("list target 20 ms", (xs[-1], 20), textcoords="offset points", xytext=(0, 3),
                  fontsize=8, color="red", ha="right")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xticks(xs, [f"{x:,}" for x in xs])
    left.set_xlabel("connections in the store (N)")
    left.set_ylabel("median wall time (ms)")
    left.set_title("ohx commands against store size")
    left.set_ylim(1, 50)
    left.yaxis.set_major_locator(FixedLocator([1, 2, 5, 10, 20, 50, 100, 200]))
    left.yaxis.set_major_formatter(ScalarFormatter())
    left.yaxis.set_minor_locator(NullLocator())
    left.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    left.grid(True, which="both", alpha=0.3)

    rot = [(SIZE_N[k], t[f"member remove flat-{k}"]["median"])
           for k in SIZES if f"member remove flat-{k}" in t]
    right.plot([p[0] for p in rot], [p[1] for p in rot], "o-",
               label="member remove = key rotation (hyperfine median)")
    if "member remove pg-flat-10k" in t:
        right.plot([10_000], [t["member remove pg-flat-10k"]["median"]], "P", color="C9",
                   label="on PostgreSQL (loopback)")
    single = next((m for m in memory if m["name"] == "member remove flat-100k"), None)
    if single:
        right.plot([100_000], [single["seconds"]], "o", mfc="none", color="C0",
                   label="100,000 secrets: one run (/usr/bin/time)")
    for x, y in rot + ([(100_000, single["seconds"])] if single else []):
        right.annotate(f"{y:.2f} s", (x, y), textcoords="offset points", xytext=(-12, 8),
                       fontsize=8)
    right.axhline(2.0, color="red", linewidth=0.8, alpha=0.5)
    right.annotate("target: 10,000 secrets under 2 s", (1_000, 2.0), textcoords="offset points",
                   xytext=(2, 3), fontsize=8, color="red")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xticks(xs, [f"{x:,}" for x in xs])
    right.set_xlabel("secrets in the workspace")
    right.set_ylabel("wall time (s)")
    right.set_title("key rotation")
    right.set_ylim(top=30)
    right.yaxis.set_major_locator(FixedLocator([0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50]))
    right.yaxis.set_major_formatter(ScalarFormatter())
    right.yaxis.set_minor_locator(NullLocator())
    right.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    right.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def markdown_authority(t) -> list:
    L = ["### Signed authority against the baseline (before it)", ""]
    L.append("Medians in the same hyperfine calls (ms; CPU user + system in brackets):")
    L.append("")
    L.append("| command | " + " | ".join(f"{SIZE_N[k]:,}" for k in SIZES) + " |")
    L.append("|---|" + "---:|" * len(SIZES))
    for label, layout in [("store of N, workspaces of 1,000", "spread"),
                          ("one workspace of N", "flat")]:
        for who, prefix in [("baseline", "baseline "), ("now", "")]:
            L.append(f"| `connection env` {who} ({label}) | " + " | ".join(
                f"{ms(t[f'{prefix}env {layout}-{k}']['median'])} "
                f"({ms(t[f'{prefix}env {layout}-{k}']['cpu'])})" for k in SIZES) + " |")
        L.append(f"| ratio ({label}) | " + " | ".join(
            f"{t[f'env {layout}-{k}']['median'] / t[f'baseline env {layout}-{k}']['median']:.2f}"
            for k in SIZES) + " |")
    if "baseline member remove flat-10k" in t:
        L.append("")
        L.append(f"Rotation of 10,000 secrets: {t['member remove flat-10k']['median']:.2f} s now, "
                 f"{t['baseline member remove flat-10k']['median']:.2f} s at the baseline.")
    L.append("")
    return L


def markdown_postgres(t, memory, an) -> list:
    L = ["### PostgreSQL on loopback against SQLite", ""]
    L.append("Medians in the same hyperfine calls (ms; CPU user + system of the ohx process in "
             "brackets, which leaves out the server's own work):")
    L.append("")
    L.append("| command | SQLite | PostgreSQL | ratio |")
    L.append("|---|---:|---:|---:|")

    def row(label, lite, pg):
        if lite in t and pg in t:
            a, b = t[lite], t[pg]
            L.append(f"| {label} | {ms(a['median'])} ({ms(a['cpu'])}) | {ms(b['median'])} "
                     f"({ms(b['cpu'])}) | {b['median'] / a['median']:.2f} |")

    row("`whoami` (open the store, find the user)", "sqlite whoami", "pg whoami")
    row("`whoami`, PostgreSQL without TLS", "sqlite whoami", "pg whoami no-tls")
    row("`whoami`, PostgreSQL through the Unix socket (no TCP, TLS or password)",
        "sqlite whoami", "pg whoami socket")
    row("`connection env` (workspace of 1,000)", "sqlite env 1k", "pg env 1k")
    row("`connection env`, PostgreSQL without TLS", "sqlite env 1k", "pg env 1k no-tls")
    row("`connection env`, PostgreSQL through the Unix socket (no TCP, TLS or password)",
        "sqlite env 1k", "pg env 1k socket")
    row("`connection env` (workspace of 10,000)", "sqlite env flat-10k", "pg env flat-10k")
    row("`connection list` of 1,000", "sqlite list 1k", "pg list 1k")
    row("`whoami`, PostgreSQL with `ohx store hold`", "sqlite whoami", "pg whoami held")
    row("`connection env` (workspace of 1,000), with `ohx store hold`", "sqlite env 1k",
        "pg env 1k held")
    row("`connection env` (workspace of 10,000), with `ohx store hold`", "sqlite env flat-10k",
        "pg env flat-10k held")
    row("`connection list` of 1,000, with `ohx store hold`", "sqlite list 1k", "pg list 1k held")
    row("`member add` (workspace of 1,000)", "member add spread-1k", "member add pg-spread-1k")
    row("`member add` (workspace of 10,000)", "member add flat-10k", "member add pg-flat-10k")
    row("`member remove` = rotation of 10,000 secrets", "member remove flat-10k",
        "member remove pg-flat-10k")
    L.append("")
    if an:
        L.append("What each command asked of the server, run once with `log_min_duration_statement "
                 "= 0` (one round trip per statement prepared, per statement executed and per "
                 "simple query; the connection's own round trips come on top):")
        L.append("")
        L.append("| command | prepared | executed | simple queries | round trips | server time "
                 "in statements (ms) | session (ms) |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for name, c in an.items():
            session = f"{c['session_ms']:.1f}" if c["session_ms"] is not None else "–"
            L.append(f"| `{name}` | {c['parse']:,} | {c['execute']:,} | {c['simple']:,} | "
                     f"{c['round_trips']:,} | {c['server_ms']:,.1f} | {session} |")
        L.append("")
    pg_mem = [m for m in memory if m["name"].startswith("pg ")]
    if pg_mem:
        L.append("| command on PostgreSQL | max RSS (MiB) | wall (s) |")
        L.append("|---|---:|---:|")
        for m in pg_mem:
            L.append(f"| `{m['name'][3:]}` | {m['kib'] / MIB:.1f} | {m['seconds']:.2f} |")
        L.append("")
    return L


def markdown(t, memory, seeding, machine, checks, an) -> str:
    L = []
    L.append(f"Measured {machine['date']} on {machine['nproc']} cores ({machine['cpu']}), "
             f"{machine['memory']} RAM, Linux {machine['kernel']}; {machine['ohx']}, "
             f"baseline {machine['baseline']}, {machine['postgres']}, "
             f"{machine['rustc']}, {machine['hyperfine']}, age {machine['age']}, {machine['gpg']}. "
             f"The whole `bench/run` took {machine['bench_run_seconds']} s. "
             f"Functions of `link-order.txt` found in this build (placed side by side): "
             f"{machine.get('link_order', 'not counted')}."
             + (" **Quick run** (`BENCH_QUICK=1`): few runs, no 100,000; not for numbers."
                if machine.get("quick") else ""))
    loads = ", ".join(f"{g} {v} % (load average {a})"
                      for g, (v, a) in machine.get("cpu_busy_before", {}).items())
    L.append("")
    L.append(f"CPUs busy with other work just before each group (measured over 2 s; bench/run waits "
             f"for under 15 %, up to 4 minutes in all): {loads}.")
    L.append("")
    L.append("### Targets")
    L.append("")
    L.append("| target | result | evidence |")
    L.append("|---|---|---|")
    for name, met, evidence in checks:
        verdict = "**met**" if met is True else "**MISSED**" if met is False else "info"
        L.append(f"| {name} | {verdict} | {evidence} |")
    L.append("")
    L.append("### Median wall time (ms, ± standard deviation; hyperfine, `--prepare` not timed)")
    L.append("")
    L.append("| command | " + " | ".join(f"{SIZE_N[k]:,}" for k in SIZES) + " |")
    L.append("|---|" + "---:|" * len(SIZES))
    rows = [
        ("`connection env pg-000500` (store of N, workspaces of 1,000)", "env spread-{}"),
        ("`connection show pg-000500 --reveal` (store of N)", "show spread-{}"),
        ("`connection list` of a 1,000-connection workspace (store of N)", "list spread-{}"),
        ("`member add carol --role editor` (store of N)", "member add spread-{}"),
        ("`connection env` (one workspace of N)", "env flat-{}"),
        ("`member add carol --role editor` (one workspace of N)", "member add flat-{}"),
        ("`member remove bob` = rotation of N secrets (one workspace of N)",
         "member remove flat-{}"),
    ]
    for label, pattern in rows:
        L.append(f"| {label} | " + " | ".join(cell(t, pattern.format(k)) for k in SIZES) + " |")
    L.append("")
    L.extend(markdown_authority(t))
    L.extend(markdown_postgres(t, memory, an))
    L.append("CPU time (user + system, mean over the runs, ms) of the same commands, which disk "
             "flushes and other load on the machine disturb less than wall time:")
    L.append("")
    L.append("| command | " + " | ".join(f"{SIZE_N[k]:,}" for k in SIZES) + " |")
    L.append("|---|" + "---:|" * len(SIZES))
    for label, pattern in rows:
        L.append(f"| {label} | " + " | ".join(
            ms(t[pattern.format(k)]["cpu"]) if pattern.format(k) in t else "–" for k in SIZES) + " |")
    L.append("")
    L.append("| reference | median (ms) |")
    L.append("|---|---:|")
    for name, label in [("age -d", "`age -d -i identity small.age`"),
                        ("pass show", "`pass show bench/db` (gpg, passphrase-less key, agent)"),
                        ("ohx --version", "`ohx --version` (process start)"),
                        ("baseline ohx --version", "`ohx --version` of the baseline")]:
        L.append(f"| {label} | {cell(t, name)} |")
    L.append("")
    top = SIZES[-1]
    L.append(f"### Peak memory at {SIZE_N[top]:,} connections (max RSS, `/usr/bin/time -f %M`)")
    L.append("")
    L.append("| command | store | max RSS (MiB) | wall (s) |")
    L.append("|---|---|---:|---:|")
    for m in memory:
        name = m["name"]
        if name.startswith("pg "):
            continue  # in the PostgreSQL section
        store = (f"{SIZE_N[top] // 1000} workspaces of 1,000" if f"spread-{top}" in name
                 else f"one workspace of {SIZE_N[top]:,}" if f"flat-{top}" in name else "–")
        cmd = name.replace(f" spread-{top}", "").replace(f" flat-{top}", "")
        flag = " **over 30 MiB**" if m["kib"] >= MEMORY_LIMIT_KIB and store != "–" else ""
        L.append(f"| `{cmd}` | {store} | {m['kib'] / MIB:.1f}{flag} | {m['seconds']:.2f} |")
    L.append("")
    L.append("### Seeding")
    L.append("")
    L.append("| store | connections | seconds |")
    L.append("|---|---:|---:|")
    for name, n, secs in seeding:
        L.append(f"| {name} | {int(n):,} | {float(secs):.1f} |")
    cli = next((s for s in seeding if s[0] == "cli-add-200"), None)
    if cli:
        per = float(cli[2]) / int(cli[1])
        L.append("")
        L.append(f"Through the CLI, one `ohx connection add` process per connection takes "
                 f"{per * 1000:.1f} ms, so 10,000 would take about {per * 10_000:.0f} s and "
                 f"100,000 about {per * 100_000 / 60:.0f} min; the seeder (`bench/seed`, ohx's "
                 f"own API, one transaction per workspace) is used instead.")
    L.append("")
    L.append("![ohx benchmark](bench/results/plot.png)")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", type=Path, required=True)
    ap.add_argument("--rounds", type=Path, required=True)
    ap.add_argument("--seeding", type=Path, required=True)
    ap.add_argument("--memory", type=Path, required=True)
    ap.add_argument("--markdown", type=Path, required=True)
    ap.add_argument("--load", type=Path, required=True)
    ap.add_argument("--anatomy", type=Path, required=True)
    ap.add_argument("--sizes", nargs="+", default=SIZES)
    a = ap.parse_args()
    SIZES[:] = a.sizes

    merge_rounds(a.rounds, a.results)
    t = load_hyperfine(a.results)
    memory = [{"name": n, "kib": int(k), "seconds": float(s), "command": c}
              for n, k, s, c in load_tsv(a.memory)]
    seeding = load_tsv(a.seeding)
    machine = json.loads((a.results / "machine.json").read_text())
    machine["cpu_busy_before"] = {g: (int(v), la) for g, v, la in load_tsv(a.load)}
    checks = targets(t, memory) + authority_targets(t) + postgres_targets(t, memory)
    an = anatomy(a.anatomy)
    (a.results / "postgres.json").write_text(json.dumps(an, indent=2) + "\n")

    (a.results / "memory.json").write_text(json.dumps(memory, indent=2) + "\n")
    (a.results / "seeding.json").write_text(json.dumps(
        [{"store": n, "connections": int(c), "seconds": float(s)} for n, c, s in seeding],
        indent=2) + "\n")
    (a.results / "summary.json").write_text(json.dumps({
        "machine": machine,
        "median_seconds": {k: v["median"] for k, v in t.items()},
        "max_rss_kib": {m["name"]: m["kib"] for m in memory},
        "targets": [{"target": n, "met": m, "evidence": e} for n, m, e in checks],
    }, indent=2) + "\n")
    plot(t, memory, a.results / "plot.png")

    block = f"{BEGIN}\n{markdown(t, memory, seeding, machine, checks, an)}\n{END}"
    text = a.markdown.read_text() if a.markdown.exists() else f"# ohx benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n## Latest results\n\n{BEGIN}\n{END}\n"
    text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    a.markdown.write_text(text)
    for name, met, evidence in checks:
        print(f"{'met   ' if met is True else 'MISSED' if met is False else 'info  '}  {name}: {evidence}")


if __name__ == "__main__":
    main()
