"""``iwt``: the command line, thin over the package modules."""

from __future__ import annotations

import argparse
import gc
import signal
import sys
from pathlib import Path

from iwt_helpers import __version__, atomic
from iwt_helpers.errors import IwtError, UsageError

MAX_RUNS = 100_000          # Monte Carlo runs of `iwt scenarios run` (as n_runs of the scenarios notebook)


def _list_icbs(args: argparse.Namespace) -> int:
    from iwt_helpers.data import geography
    t = geography.icbs()
    if args.csv:
        t[["icb_code", "icb_code_ons", "icb_short_name", "region_code", "region_name"]].to_csv(sys.stdout, index=False)
        return 0
    print(f"{'ODS':<5} {'ONS (E54)':<10} {'Region':<5} {'Region name':<26} ICB")
    for r in t.itertuples():
        print(f"{r.icb_code:<5} {r.icb_code_ons:<10} {r.region_code:<5} {r.region_name:<26} {r.icb_short_name}")
    print(f"{len(t)} ICBs. Either code, in any case, is accepted wherever an ICB is asked for.")
    return 0


def _data_demo(args: argparse.Namespace) -> int:
    from iwt_helpers.data import demo
    out = Path(args.out) if args.out else None
    written = demo.write_demo(out)
    for _name, path in written.items():
        print(f"wrote {path}")
    return 0


def _data_build(args: argparse.Namespace) -> int:
    from iwt_helpers import paths
    from iwt_helpers.data import build
    raw = Path(args.raw) if args.raw else paths.RAW
    out = Path(args.out) if args.out else paths.PROCESSED
    report = build.build(raw, out)
    for f in report.files:
        print(f"  {f['source']:<26} {f['file']}  ({f['covers']})")
    for d in report.duplicates:
        print(f"  skipped duplicate: {d}")
    print(f"built {out}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(report.tables.items())))
    print(f"details (notes, unmapped organisations, ignored files): {out / build.REPORT}")
    return 0


def _data_status(args: argparse.Namespace) -> int:
    import pandas as pd

    from iwt_helpers import paths
    from iwt_helpers.data import build
    data = Path(args.data) if args.data else paths.PROCESSED
    table = build.status(data)
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        print(table.to_string(index=False))
    return 0


def _reference_build(args: argparse.Namespace) -> int:
    from iwt_helpers import paths
    from iwt_helpers.data import population, reference_build
    real = Path(args.real_data) if args.real_data else paths.REAL_DATA
    for p in reference_build.build_reference(real) + reference_build.write_context_tables(real):
        print(f"wrote {p}")
    print(f"wrote {reference_build.write_prevalence(real.parent / 'reference-data')}")
    print(f"wrote {population.write_reference(real)}")
    from iwt_helpers.data.sources import social_care
    print(f"wrote {social_care.write_lad_utla(real)}")
    return 0


def _readiness_template(args: argparse.Namespace) -> int:
    from iwt_helpers.app.server import data_folder  # the same check as import: a folder iwt made, or data/
    from iwt_helpers.data import readiness_store
    out = readiness_store.write_template(args.icb, args.partner, data_folder(args.data), Path(args.out))
    data = f" --data {args.data}" if args.data else ""
    print(f"wrote {out}: fill in Score, Evidence, Owner and Due date, then run `iwt readiness import {out}{data}`")
    return 0


def _readiness_import(args: argparse.Namespace) -> int:
    from iwt_helpers.app.server import data_folder  # the app's check: a folder iwt made, or the project's data/
    from iwt_helpers.data import readiness_store
    done = readiness_store.import_workbook(Path(args.file), data_folder(args.data))
    print(f"saved {done['partner']} ({done['icb_code']}), round of {done['assessment_date']}: "
          f"{done['scored']} of {done['items']} items scored -> {done['file']}")
    return 0


def _report(args: argparse.Namespace) -> int:
    import yaml

    from iwt_helpers.report import print_summary, run_reports  # (the package keeps jsonschema's IRI grammar out)
    parameters = {}
    for name, value in args.parameter or []:
        try:
            parameters[name] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise UsageError(f"-p {name} {value}: the value is not valid YAML (e.g. red, 5, [5, 10])") from None
    summary = run_reports(icb=args.icb, theme_spec=args.themes, data_dir=args.data, out_dir=args.out,
                          jobs=args.jobs, force=args.force, progress=not args.no_progress, parameters=parameters,
                          place=args.place)
    print_summary(summary)
    return summary.exit_code


def _peers(args: argparse.Namespace) -> int:
    from iwt_helpers.analysis import peers
    from iwt_helpers.data import geography
    icb = geography.resolve_icb(args.icb)
    t = peers.nearest_peers(icb, args.k)
    if args.csv:
        t.to_csv(sys.stdout, index=False, float_format="%.4f")
        return 0
    print(f"Nearest {len(t)} peers of {geography.icb_name(icb)} ({icb}) on standardised context indicators "
          f"(weights: data/reference/peer_indicators.yaml)")
    print(f"{'Rank':<5} {'ICB':<5} {'Distance':>8}  {'Name':<36} Biggest differences (peer against {icb})")
    for r in t.itertuples():
        print(f"{r.rank:<5} {r.icb_code:<5} {r.distance:>8.2f}  {r.icb_name:<36} {r.biggest_differences}")
    return 0


def _scenarios_run(args: argparse.Namespace) -> int:
    import os
    import time

    # Many large arrays live briefly here: huge pages for them (numpy's default on Linux) cost more kernel
    # time to find and clear than they save. numpy reads this when first imported, so here, before it is.
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    from iwt_helpers.analysis import scenarios
    from iwt_helpers.analysis.params import ReportParams
    from iwt_helpers.analysis.scenarios import config
    from iwt_helpers.analysis.system_data import SystemData
    from iwt_helpers.data import geography
    from iwt_helpers.data.datastore import open_dataset
    from iwt_helpers.themes.wording import caveat

    t0 = time.perf_counter()
    if not 1 <= args.runs <= MAX_RUNS:             # before any work: memory grows with the runs
        raise UsageError(f"--runs {args.runs:,}: expected a whole number of runs from 1 to {MAX_RUNS:,}")
    file = config.load(args.file)
    names = file.names(args.scenario)
    icbs = geography.icb_codes() if args.icb.strip().lower() == "all" else [geography.resolve_icb(c) for c in args.icb.split(",")]
    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise UsageError(f"--out {out}: expected a .csv or .parquet file")
    ds = open_dataset(args.data)
    data = SystemData.load(ds, ReportParams.parse(icb_code=icbs[0], data_dir=args.data))
    inp = scenarios.inputs.build(data.t, data.snapshot, file.horizon_years, icbs, ensure=file.receiving_cells(),
                                 leaving_rates=ds.optional_table("leaving_rates"))
    rows = 0

    def counted(tables):                           # each scenario's table, written as soon as it is made
        nonlocal rows
        for t in tables:
            rows += len(t)
            yield t
    scenarios.write(counted(scenarios.percentile_tables(inp, [file.get(n) for n in names], args.runs, args.seed,
                                                        snapshot=data.snapshot)), out)
    status = "real and synthetic inputs" if any(inp.synthetic.values()) and not all(inp.synthetic.values()) else (
        "SYNTHETIC demonstration inputs" if any(inp.synthetic.values()) else "real inputs")
    print(f"wrote {out}: {rows:,} rows; {len(icbs)} ICB(s) x {len(names)} scenario(s) x {args.runs:,} runs, "
          f"base year {inp.base_year} to {inp.base_year + inp.horizon}, seed {args.seed}, {status} "
          f"({', '.join(t for t, syn in inp.synthetic.items() if syn) or 'none synthetic'}); {time.perf_counter() - t0:.1f} s")
    for caveat_id, values in inp.notes:
        print(f"note: {caveat(caveat_id, **values)}")
    return 0


def build_parser(without_app: bool = False) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="iwt", description="Integrated workforce thinking workbook for England's 42 ICSs.")
    p.add_argument("--version", action="version", version=f"iwt {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list-icbs", help="list the 42 ICBs with ODS and ONS codes and NHS England region")
    s.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    s.set_defaults(func=_list_icbs)

    data = sub.add_parser("data", help="build, inspect or regenerate data sets")
    dsub = data.add_subparsers(dest="data_command", required=True)
    s = dsub.add_parser("demo", help="regenerate the embedded synthetic demo data (deterministic)")
    s.add_argument("--out", help="folder to write to (default data/demo)")
    s.set_defaults(func=_data_demo)
    s = dsub.add_parser("build", help="build processed data from downloaded source files (recognised by content)")
    s.add_argument("--raw", help="folder of downloaded files (default data/raw)")
    s.add_argument("--out", help="processed data folder to write (default data/processed); replaced only on success")
    s.set_defaults(func=_data_build)
    s = dsub.add_parser("status", help="what each table of a processed data folder covers")
    s.add_argument("--data", help="processed data folder (default data/processed)")
    s.set_defaults(func=_data_status)

    s = sub.add_parser("reference", help="rebuild committed reference tables from ../shared/real-data")
    s.add_argument("action", choices=["build"])
    s.add_argument("--real-data", help="folder of real public files (default ../shared/real-data)")
    s.set_defaults(func=_reference_build)

    rd = sub.add_parser("readiness", help="readiness self-assessment: Excel template and import")
    rsub = rd.add_subparsers(dest="readiness_command", required=True)
    s = rsub.add_parser("template", help="write an Excel template for one partner to fill in")
    s.add_argument("--icb", required=True, help="ICB code (ODS or E54)")
    s.add_argument("--partner", required=True, help="the partner organisation filling it in")
    s.add_argument("--data", help="data folder whose readiness/ holds the responses (default data/readiness)")
    s.add_argument("--out", required=True, help="the .xlsx file to write")
    s.set_defaults(func=_readiness_template)
    s = rsub.add_parser("import", help="check a filled-in template and append it as a round")
    s.add_argument("file", help="the filled-in .xlsx template")
    s.add_argument("--data", help="data folder made by iwt (the project's data/ or an `iwt data build` output) whose "
                   "readiness/ holds the responses (default data/readiness)")
    s.set_defaults(func=_readiness_import)

    s = sub.add_parser("peers", help="an ICB's nearest peers on real context indicators (population, age, deprivation, rurality)")
    s.add_argument("--icb", required=True, help="ICB code (ODS or E54)")
    s.add_argument("--k", type=int, default=5, help="how many neighbours (1 to 41, default 5)")
    s.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    s.set_defaults(func=_peers)

    sc = sub.add_parser("scenarios", help="workforce supply against demand up to 15 years ahead, with Monte Carlo ranges")
    scsub = sc.add_subparsers(dest="scenarios_command", required=True)
    s = scsub.add_parser("run", help="project supply, demand and the gap and write p10/p50/p90 to a CSV or Parquet file")
    s.add_argument("--icb", default="all", help="ICB code (ODS or E54), comma-separated codes, or 'all' (default)")
    s.add_argument("--scenario", default="all", help="a scenario of the scenario file, comma-separated names, or 'all' (default)")
    s.add_argument("--runs", type=int, default=1000, help="Monte Carlo runs (default 1000)")
    s.add_argument("--seed", type=int, default=2022, help="random seed: the same seed gives the same figures (default 2022)")
    s.add_argument("--out", required=True, help="the .csv or .parquet file to write")
    s.add_argument("--data", help="processed data folder (default: embedded demo data)")
    s.add_argument("--file", help="scenario file (default data/reference/scenarios.yaml)")
    s.set_defaults(func=_scenarios_run)

    from iwt_helpers.data.extracts import cli as extract_cli  # `iwt extract load | demo | key`
    extract_cli.add_parser(sub)
    if not without_app:     # `iwt app readiness`: its parser imports the app's server and notebook machinery (seconds)
        from iwt_helpers.app import cli as app_cli
        app_cli.add_parser(sub)

    s = sub.add_parser("report", help="run theme notebooks and write the report set")
    s.add_argument("--icb", default="QOP", help="ICB code (ODS or E54), comma-separated codes, or 'all'")
    s.add_argument("--themes", default="all", help="comma-separated themes or 'all'")
    s.add_argument("--data", help="processed data folder (default: embedded demo data)")
    s.add_argument("--out", help="output folder (default reports/)")
    s.add_argument("--jobs", type=int, default=2,
                   help="warm kernels to run in parallel (default 2; at most the CPUs and the reports to run)")
    s.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="a notebook parameter (VALUE read as YAML): NAME for every theme, THEME.NAME for one; repeatable")
    s.add_argument("--force", action="store_true", help="re-run reports even when cached results are current")
    s.add_argument("--place", help="also a data report for each place (sub-ICB location) of the ICB: 'all', or "
                                   "comma-separated ODS (00T) or E38 codes; each in <ICB>/places/<ODS>/")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=_report)
    return p


OWN_COMMANDS = {"list-icbs", "data", "reference", "readiness", "peers", "scenarios", "report"}   # need no app parser


def _command(argv: list[str] | None) -> str | None:
    """The command asked for (the first argument that is not an option), if any."""
    return next((a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # `iwt list-icbs | head` ends quietly
    args = build_parser(without_app=_command(argv) in OWN_COMMANDS).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except IwtError as exc:      # a user error (BuildError, UnknownICBError, a folder in use...): one line, no traceback
        print(f"iwt: error: {exc}", file=sys.stderr)
        return 2
    except atomic.Interrupted as exc:           # SIGINT or SIGTERM: the run stopped and recorded what finished
        print(f"iwt: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:                   # Ctrl-C outside a report run
        print("iwt: stopped by SIGINT", file=sys.stderr)
        return 130
    finally:
        # The process is about to end: spare the interpreter's last cyclic-garbage sweep over
        # everything pandas, nbconvert and jupyter_client allocated (about 0.3 s after a
        # report run). Exit handlers still run and every output is already written and closed.
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
