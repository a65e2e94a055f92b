"""Record-level extract at national size: 1.5 million staff (one ESR-style snapshot made by
``iwt extract demo``) loaded, checked, pseudonymised (HMAC-SHA256) and aggregated to ICB x staff
group x age band under disclosure control; prints the wall time and the peak memory of a fresh
process that does only that. Also times the full two-snapshot load (flows included) into a data
folder (what ``iwt extract load`` does), with the time of each stage of it (read the CSV, checksum
the file, check and derive the fields, pseudonymise, aggregate under disclosure control, validate,
write; work done in a thread is booked to the stage it runs beside, see ``load.Stages``), the CPU time
and the peak memory. With ``--repeat N`` every figure is the median of N fresh
processes (the range beside it); the load average of the machine is printed, as the figures depend
on it.

``--engines`` also runs the same core steps (read the mapped columns as text, parse dates of
birth and snapshot dates, check ages 16-100, pseudonymise the identifiers, look up ICB and staff
group, count ICB x staff group x age band, look for duplicate identifiers) with pandas (+ the
pyarrow CSV reader), DuckDB and Polars, each in its own fresh process, and prints time and peak
memory per engine. ``--hmac`` compares HMAC-SHA256 implementations on 1.5 million identifiers.

Peak memory is the high-water mark of the measured process's resident set (``VmHWM``, Linux).
Not ``ru_maxrss``: a child started from a big parent inherits the parent's high-water mark in
``ru_maxrss``, which is why the synthetic files are also written by a child process.

    .venv/bin/python benchmarks/bench_extract.py [--records 1500000] [--work DIR] [--repeat 5] [--engines] [--hmac]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEAK = r"""
def peak_mb():
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""
DEMO = r"""
import sys
from pathlib import Path
from iwt_helpers.data.extracts import demo
demo.write_demo(Path(sys.argv[1]), int(sys.argv[2]))
"""
MEASURE = PEAK + r"""
import sys, time
from pathlib import Path
t0 = time.perf_counter()
from iwt_helpers.data.extracts import aggregate, load, mapping
from iwt_helpers.data import disclosure
m = mapping.load_mapping(sys.argv[1])
loaded = load.load_extracts([Path(sys.argv[2])], m)
t1 = time.perf_counter()
snap = loaded.records["snapshot_date"].iloc[0]
tables = aggregate.snapshot_tables(loaded.records, snap, "benchmark", disclosure.record_level_settings())
elapsed = time.perf_counter() - t0
print(f"{len(loaded.records)} {elapsed:.2f} {t1 - t0:.2f} {peak_mb():.0f} {len(tables['workforce_age'])}")
"""
FULL = PEAK + r"""
import shutil, sys, time
from pathlib import Path
t0 = time.perf_counter()
from iwt_helpers.data.extracts import load, write
stages = load.Stages()
t1 = time.perf_counter()
report = write.load_to_folder([Path(p) for p in sys.argv[3:]], Path(sys.argv[1]), Path(sys.argv[2]), stages=stages)
shutil.rmtree(sys.argv[2])
rows = sum(f["rows"] for f in report["files"])
print(f"{t1 - t0:.3f} {time.process_time():.3f} {peak_mb():.0f} {rows} "
      + " ".join(f"{k}={v:.3f}" for k, v in stages.items()))
"""
# The core steps, the same for each engine. Identifiers are hashed by the same Python HMAC in every
# engine (none of them has a keyed HMAC of its own), once per distinct identifier.
ENGINE_COMMON = PEAK + r"""
import sys, time
t0 = time.perf_counter()
from pathlib import Path
from iwt_helpers import vocab
from iwt_helpers.data import disclosure
from iwt_helpers.data.extracts import mapping
m = mapping.load_mapping(sys.argv[1])
f = sys.argv[2]
C = m.columns
ID, ORG, GROUP, DOB, SNAP = C["staff_id"], C["organisation_code"], C["staff_group"], C["date_of_birth"], C["snapshot_date"]
org_icb = dict(m.organisations)
sg = vocab.staff_groups()
group_map = {**{g.lower(): code for code, gs in zip(sg["code"], sg["nhs_hchs_groups"]) for g in gs},
             **mapping.ESR_STAFF_GROUPS}
hash_many = disclosure.pseudonymiser(disclosure.require_key())
EDGES, BANDS = [16, 25, 35, 45, 55, 65, 101], vocab.workforce_age_bands()
"""
ENGINES = {
    "pandas": ENGINE_COMMON + r"""
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.csv as pacsv
heads = [ID, ORG, GROUP, DOB, SNAP]
t = pacsv.read_csv(f, convert_options=pacsv.ConvertOptions(
    include_columns=heads, column_types={h: pa.string() for h in heads}, strings_can_be_null=False))
cols = {h: t.column(h).combine_chunks() for h in heads}
del t
def each(arr, fn):
    enc = arr.dictionary_encode()
    return fn(pd.Series(enc.dictionary.to_pylist())).to_numpy()[enc.indices.to_numpy()]
dob = each(cols.pop(DOB), lambda v: pd.to_datetime(v, format="%Y-%m-%d", errors="coerce"))
snap = each(cols.pop(SNAP), lambda v: pd.to_datetime(v, format="%Y-%m-%d", errors="coerce"))
bad_dates = int(np.isnat(dob).sum() + np.isnat(snap).sum())
d, s = pd.DatetimeIndex(dob), pd.DatetimeIndex(snap)
age = s.year - d.year - ((s.month < d.month) | ((s.month == d.month) & (s.day < d.day)))
bad_age = int(((age < 16) | (age > 100)).sum())
band = pd.cut(age, EDGES, right=False, labels=BANDS)
ids = pa.compute.utf8_trim_whitespace(cols.pop(ID)).dictionary_encode()
pid = pa.compute.take(pa.array(hash_many(ids.dictionary.to_pylist()), pa.string()), ids.indices)
icb = each(cols.pop(ORG), lambda v: v.str.strip().str.upper().map(org_icb))
group = each(cols.pop(GROUP), lambda v: v.str.strip().str.lower().map(group_map).fillna("unknown"))
df = pd.DataFrame({"snap": snap, "pid": pd.array(pid, dtype="string[pyarrow]"), "icb": pd.Categorical(icb),
                   "group": pd.Categorical(group), "band": band})
dups = int(df.duplicated(["snap", "pid"]).sum())
counts = df.groupby(["icb", "group", "band"], observed=True).size()
""",
    "duckdb": ENGINE_COMMON + r"""
import duckdb, pyarrow as pa
con = duckdb.connect()
q = lambda c: '"' + c.replace('"', '""') + '"'
con.execute(f"CREATE TEMP TABLE raw AS SELECT trim({q(ID)}) AS id, upper(trim({q(ORG)})) AS org, "
            f"lower(trim({q(GROUP)})) AS grp, try_strptime({q(DOB)}, '%Y-%m-%d')::DATE AS dob, "
            f"try_strptime({q(SNAP)}, '%Y-%m-%d')::DATE AS snap "
            f"FROM read_csv('{f}', all_varchar=true, header=true)")
bad_dates = con.execute("SELECT count(*) FROM raw WHERE dob IS NULL OR snap IS NULL").fetchone()[0]
ids = [r for (r,) in con.execute("SELECT DISTINCT id FROM raw").fetchall()]
pseud = pa.table({"id": ids, "pid": hash_many(ids)})
orgs = pa.table({"org": list(org_icb), "icb": list(org_icb.values())})
groups = pa.table({"grp": list(group_map), "staff_group": list(group_map.values())})
con.register("pseud", pseud); con.register("orgs", orgs); con.register("groups", groups)
con.execute(
    "CREATE TEMP TABLE rec AS SELECT r.snap, p.pid, o.icb, coalesce(g.staff_group, 'unknown') AS staff_group, "
    "year(r.snap) - year(r.dob) - CASE WHEN strftime(r.snap, '%m%d') < strftime(r.dob, '%m%d') THEN 1 ELSE 0 END AS age "
    "FROM raw r JOIN pseud p USING (id) LEFT JOIN orgs o USING (org) LEFT JOIN groups g USING (grp)")
con.execute("DROP TABLE raw")
bad_age = con.execute("SELECT count(*) FROM rec WHERE age < 16 OR age > 100").fetchone()[0]
dups = con.execute("SELECT count(*) FROM (SELECT snap, pid FROM rec GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
case = " ".join(f"WHEN age < {hi} THEN '{b}'" for hi, b in zip(EDGES[1:], BANDS))
counts = con.execute(f"SELECT icb, staff_group, CASE {case} END AS band, count(*) AS n FROM rec GROUP BY ALL").df()
""",
    "polars": ENGINE_COMMON + r"""
import polars as pl
df = pl.read_csv(f, columns=[ID, ORG, GROUP, DOB, SNAP], infer_schema=False)
df = df.select(pl.col(ID).str.strip_chars().alias("id"),
               pl.col(ORG).str.strip_chars().str.to_uppercase().alias("org"),
               pl.col(GROUP).str.strip_chars().str.to_lowercase().alias("grp"),
               pl.col(DOB).str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("dob"),
               pl.col(SNAP).str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("snap"))
bad_dates = df.select(pl.col("dob").is_null().sum() + pl.col("snap").is_null().sum()).item()
ids = df["id"].unique().to_list()
pseud = pl.DataFrame({"id": ids, "pid": hash_many(ids)})
df = df.join(pseud, on="id").drop("id")
age = (pl.col("snap").dt.year() - pl.col("dob").dt.year()
       - ((pl.col("snap").dt.month() < pl.col("dob").dt.month())
          | ((pl.col("snap").dt.month() == pl.col("dob").dt.month())
             & (pl.col("snap").dt.day() < pl.col("dob").dt.day()))).cast(pl.Int32))
df = df.with_columns(age.alias("age"),
                     pl.col("org").replace_strict(org_icb, default=None).alias("icb"),
                     pl.col("grp").replace_strict(group_map, default="unknown").alias("staff_group"))
bad_age = df.select(((pl.col("age") < 16) | (pl.col("age") > 100)).sum()).item()
dups = df.select(pl.struct("snap", "pid").is_duplicated().sum()).item()
df = df.with_columns(pl.col("age").cut(EDGES[1:-1], labels=BANDS, left_closed=True).alias("band"))
counts = df.group_by(["icb", "staff_group", "band"]).len()
""",
}
ENGINE_END = r"""
print(f"{time.perf_counter() - t0:.2f} {peak_mb():.0f} {len(counts)} {bad_dates} {bad_age} {dups}")
"""
HMAC = r"""
import hashlib, hmac, time
from iwt_helpers.data import disclosure
key = b"benchmark-key-not-secret-0123"
vals = [str(10_000_000 + i * 7919 % 90_000_000) for i in range(1_500_000)]
def best(f):
    times = []
    for _ in range(3):
        t = time.perf_counter(); out = f(); times.append(time.perf_counter() - t)
    return min(times), out
def one_shot():
    d = hmac.digest
    return ["P" + d(key, v.encode(), "sha256").hex()[:16] for v in vals]
def new_copy():
    h0, out = hmac.new(key, digestmod="sha256"), []
    for v in vals:
        h = h0.copy(); h.update(v.encode()); out.append("P" + h.hexdigest()[:16])
    return out
def new_each():
    return ["P" + hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:16] for v in vals]
ref = None
def by_hand():   # RFC 2104 on hashlib, for comparison only: iwt uses the standard library's hmac
    block = 64
    k = key.ljust(block, b"\0")
    i0, o0, out = hashlib.sha256(bytes(b ^ 0x36 for b in k)), hashlib.sha256(bytes(b ^ 0x5C for b in k)), []
    for v in vals:
        i = i0.copy(); i.update(v.encode()); o = o0.copy(); o.update(i.digest()); out.append("P" + o.hexdigest()[:16])
    return out
for name, f in (("iwt pseudonymiser (hmac.new + .copy per value)", lambda: disclosure.pseudonymiser(key)(vals)),
                ("RFC 2104 by hand on hashlib (not used)", by_hand),
                ("hmac.digest(key, msg, 'sha256') one-shot", one_shot),
                ("hmac.new(key, digestmod='sha256') + .copy()", new_copy),
                ("hmac.new(key, msg, sha256) per value", new_each)):
    secs, out = best(f)
    ref = ref or secs
    assert out[:1000] == disclosure.pseudonymiser(key)(vals[:1000])
    print(f"  {name:52s} {secs:5.2f} s ({secs / ref:.1f}x)")
"""


def _median(values: list[float], fmt: str = "{:.2f}") -> str:
    """The median, and the range when there is more than one value."""
    med = fmt.format(statistics.median(values))
    return med if len(values) == 1 else f"{med} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _run(code: str, *args, env: dict) -> str:
    res = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True)
    if res.returncode:
        raise SystemExit(res.stderr[-3000:])
    return res.stdout.rstrip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_500_000)
    ap.add_argument("--work", help="folder for the synthetic extract (default: a temporary folder); files already "
                    "there for the same --records are reused")
    ap.add_argument("--engines", action="store_true", help="also compare pandas, DuckDB and Polars on the core steps")
    ap.add_argument("--hmac", action="store_true", help="also compare HMAC-SHA256 implementations")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each measurement (the median is printed)")
    args = ap.parse_args()
    env = {**os.environ, "IWT_PSEUDONYM_KEY": os.environ.get("IWT_PSEUDONYM_KEY", "benchmark-key-not-secret-0123")}
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as out_tmp:
        work = Path(args.work or tmp)
        from iwt_helpers.data.extracts import demo
        paths = {f"esr_{s}": work / f"esr_{s}.csv" for s in demo.SNAPSHOTS}
        stamp = work / ".records"
        if not (all(p.exists() for p in paths.values()) and stamp.exists()
                and stamp.read_text().strip() == str(args.records)):
            t = time.perf_counter()
            _run(DEMO, work, args.records, env=env)
            stamp.write_text(f"{args.records}\n")
            print(f"wrote the synthetic extract ({args.records:,} staff, two snapshots) in "
                  f"{time.perf_counter() - t:.1f} s")
        mapping = work / "mapping.yaml"
        first = paths[f"esr_{demo.SNAPSHOTS[0]}"]
        print(f"{os.cpu_count()} CPUs; load average (1 / 5 / 15 min) {_load()}")
        runs = [_run(MEASURE, mapping, first, env=env).split() for _ in range(args.repeat)]
        n, cells = runs[0][0], runs[0][4]
        print(f"load + pseudonymise + aggregate (ICB x staff group x age band), {int(n):,} records: "
              f"{_median([float(r[1]) for r in runs])} s (load {_median([float(r[2]) for r in runs])} s), "
              f"peak memory {_median([float(r[3]) for r in runs], '{:,.0f}')} MB "
              f"(imports included; {int(cells):,} controlled cells)")
        if args.engines:
            print("core steps by engine (read mapped columns, parse dates, check ages, pseudonymise, look up ICB "
                  "and staff group, count ICB x staff group x age band, find duplicate identifiers):")
            for name, code in ENGINES.items():
                runs = [_run(code + ENGINE_END, mapping, first, env=env).split() for _ in range(args.repeat)]
                _, _, groups, bad_dates, bad_age, dups = runs[0]
                print(f"  {name:7s} {_median([float(r[0]) for r in runs])} s, "
                      f"peak memory {_median([float(r[1]) for r in runs], '{:,.0f}')} MB "
                      f"({int(groups):,} groups; {bad_dates} bad dates, {bad_age} ages outside 16-100, "
                      f"{dups} duplicates)")
        if args.hmac:
            print("HMAC-SHA256 of 1,500,000 identifiers (best of 3):")
            print(_run(HMAC, env=env))
        walls, runs = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            runs.append(_run(FULL, mapping, Path(out_tmp) / "data", *paths.values(), env=env).split())
            walls.append(time.perf_counter() - t)
        stages = {k: [float(dict(x.split("=") for x in r[4:])[k]) for r in runs]
                  for k in (x.split("=")[0] for x in runs[0][4:])}
        print(f"full two-snapshot load into a data folder ({int(runs[0][3]):,} records; flows, moves, leaving "
              f"rates), {len(runs)} run(s), median (range):")
        print(f"  process {_median(walls)} s wall (imports "
              f"{_median([float(r[0]) for r in runs])} s), {_median([float(r[1]) for r in runs])} s CPU, "
              f"peak memory {_median([float(r[2]) for r in runs], '{:,.0f}')} MB")
        print("  stages (s wall): " + ", ".join(f"{k} {_median(v)}" for k, v in stages.items()))
        print(f"load average (1 / 5 / 15 min) after: {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
