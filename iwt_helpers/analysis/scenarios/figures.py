"""The figures docs/scenarios.md gives for the projection's published basis, on a data folder:

    .venv/bin/python -m iwt_helpers.analysis.scenarios.figures --data /path/to/folder

Back-test error (MAPE) and the share of ICBs whose published figure falls inside the projected 10th-90th
percentile, for NHS trusts, fully qualified GPs and GP admin staff; England's health gap (NHS trusts and
general practice) in 2030 and 2036, 10th, 50th and 90th percentile, in the baseline and with NHS hiring
held at the base year's (the turnover files' months: in 2025 a freeze); the spread of ICBs' growth of
NHS trust staff around England's over 2011-2018 and how far an ICB's growth in one period follows its
growth in another; the errors of the recruitment pace before the back-test behind the ranges of
``national_net_growth`` and ``local_net_growth_sd``. ``--fitted`` adds a sensitivity that is not in the baseline: the yearly growth of
wider-labour-market joiners that would close the NHS back-test's England total (a number fitted to the
back-test, so shown, never used). ``--by-icb`` prints the back-test for every ICB as a Markdown table.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import backtest, calibration, config, inputs, model


def fitted_wider_labour_market(tables: dict, inp, sc, d: dict[str, np.ndarray]) -> tuple[float, object]:
    """The yearly growth of wider-labour-market joiners (the same in every run) at which the NHS back-test's
    median England total meets the published one, found by bisection, and the back-test table with it."""
    def error(g: float):
        t, _ = backtest.nhs(tables, inp, sc, {**d, "wider_labour_market_growth": np.full(len(d["nhs_leaving_rate"]), g)})
        return t["projected_p50"].sum() / t["published_fte"].sum() - 1, t
    lo, hi = -0.2, 0.5
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if error(mid)[0] < 0 else (lo, mid)
    g = (lo + hi) / 2
    return g, error(g)[1]


def by_icb(tables: dict, inp, sc, d: dict[str, np.ndarray]) -> str:
    """The back-test for every ICB (NHS trusts, fully qualified GPs, GP admin staff) as a Markdown table."""
    from iwt_helpers.data import geography
    nt, _ = backtest.nhs(tables, inp, sc, d)
    gt, _ = backtest.gp(tables, inp, sc, d)
    parts = {"NHS trusts": nt, "GPs": gt[gt["role"] == "gp_qualified"], "GP admin": gt[gt["role"] == "admin"]}
    head = "| ICB | " + " | ".join(f"{p}: published | {p}: projected (p10-p90) | {p}: error %" for p in parts) + " |"
    lines = [head, "|" + "---|" * (1 + 3 * len(parts))]
    icbs = sorted(set().union(*(set(t["icb_code"]) for t in parts.values())), key=geography.icb_name)
    for icb in icbs:
        cells = [f"{geography.icb_name(icb)} ({icb})"]
        for t in parts.values():
            r = t[t["icb_code"] == icb]
            if r.empty:
                cells += ["not available"] * 3
                continue
            r = r.iloc[0]
            syn = " (synthetic rates)" if r["rates_synthetic"] else ""
            cells += [f"{r['published_fte']:,.0f}",
                      f"{r['projected_p50']:,.0f} ({r['projected_p10']:,.0f}-{r['projected_p90']:,.0f})",
                      f"{r['error_pct']:+.1f}{'' if r['within_range'] else ' *'}{syn}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figures(data_dir: str | None, n_runs: int = 200, seed: int = 2022, fitted: bool = False,
            icb_table: bool = False) -> dict[str, object]:
    """The figures (see the module docstring), by name."""
    from iwt_helpers.analysis.params import ReportParams
    from iwt_helpers.analysis.system_data import SystemData
    from iwt_helpers.data.datastore import open_dataset

    ds = open_dataset(data_dir or None)
    params = ReportParams.parse(icb_code="QOP", data_dir=data_dir) if data_dir else ReportParams.parse(icb_code="QOP")
    data = SystemData.load(ds, params)
    f = config.load()
    sc = f.get("baseline")
    tables = {n: ds.optional_table(n) for n in ("nhs_staff_monthly", "nhs_staff_monthly_icb", "gp_workforce")}
    inp = inputs.build(data.t, data.snapshot, f.horizon_years, ensure=f.receiving_cells(),
                       leaving_rates=ds.optional_table("leaving_rates"))
    d = config.draws(sc, n_runs, seed)
    out: dict[str, object] = {"data": data_dir or "demo", "runs": n_runs, "seed": seed, "base year": inp.base_year}
    health = inp.cells["family"].eq("health").to_numpy()
    for name, i in (("baseline", inp), ("NHS hiring held at the base year's", calibration.at_base_year_hiring(inp))):
        run = model.simulate(i, sc, d, seed)
        for year in (2030, 2036):
            if year in i.years:
                j = i.years.index(year)
                gap = run.demand[:, health, j].sum(axis=1, dtype=float) - run.supply[:, health, j].sum(axis=1, dtype=float)
                out[f"health gap {year} p10/p50/p90, {name}"] = np.quantile(gap, (0.1, 0.5, 0.9))
        if name == "baseline" and 2036 in i.years:
            j, n = i.years.index(2036), 2036 - i.base_year
            for what, x in (("staff in post", run.supply), ("posts needed", run.demand)):
                total = x[:, health, :].sum(axis=1, dtype=float)
                out[f"health {what}, growth a year to 2036 (median) %"] = 100 * float(np.median((total[:, j] / total[:, 0]) ** (1 / n) - 1))
    nt, nmeta = backtest.nhs(tables, inp, sc, d)
    gt, gmeta = backtest.gp(tables, inp, sc, d)
    parts = [("NHS trusts", nt, nmeta.get("base"), nmeta.get("end"))]
    parts += [(f"general practice, {r}", gt[gt["role"] == r], gt.loc[gt["role"] == r, "base"].iloc[0], gmeta.get("end"))
              for r in (dict.fromkeys(gt["role"]) if len(gt) else [])]
    for label, t, base, end in parts:
        if len(t):
            out[f"back-test {label}, {base} to {end}"] = {
                "MAPE %": backtest.mape(t), "ICBs inside p10-p90 %": 100 * float(t["within_range"].mean()),
                "England error %": 100 * (t["projected_p50"].sum() / t["published_fte"].sum() - 1),
                "ICBs under-projected": f"{int((t['error_pct'] < 0).sum())} of {len(t)}"}
    if fitted:
        g, t = fitted_wider_labour_market(tables, inp, sc, d)
        out["sensitivity, not in the baseline: wider labour market growth fitted to the NHS back-test"] = {
            "growth a year": g, "MAPE %": backtest.mape(t), "ICBs inside p10-p90 %": 100 * float(t["within_range"].mean())}
    if icb_table:
        out["back-test by ICB (* published outside the projected 10th-90th percentile)"] = "\n" + by_icb(tables, inp, sc, d)
    stocks, _ = calibration.nhs_stocks(tables)
    if len(nt):
        uniform = nt["base_fte"] * nt["published_fte"].sum() / nt["base_fte"].sum()
        out["NHS back-test floor: MAPE with every ICB at England's actual growth %"] = float(
            (100 * (uniform / nt["published_fte"] - 1)).abs().median())
    if len(stocks):
        sp = calibration.icb_spread(stocks)
        out[f"ICB growth around England's, {sp['from']:%B %Y} to {sp['to']:%B %Y}"] = {
            "sd": sp["sd"], "robust sd": sp["robust_sd"], "ICBs": sp["icbs"]}
        errors = calibration.pace_errors(stocks)
        nat = calibration.national_range(errors)
        out["England's growth less the recent pace before March 2018 (base, window years: points a year)"] = ", ".join(
            f"{r.base}, {r.window_years}: {r.error_pct:+.2f}" for r in errors.itertuples())
        out["national_net_growth from those errors"] = {
            "root mean square": nat["rms"], "half-width (1.6 x)": nat["half_width"], "largest": nat["largest"]}
        e = calibration.icb_pace_errors(stocks)
        out[f"local_net_growth_sd: ICBs' error of the method, March {e['base']} to March {calibration.SPREAD_YEARS[1]}"] = {
            "sd": e["sd"], "robust sd": e["robust_sd"], "ICBs": e["icbs"]}
        out["ICB growth 2018-25 against 2022-25, correlation"] = calibration.persistence(stocks, (2018, 2025), (2022, 2025))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The figures of the published basis (docs/scenarios.md).")
    parser.add_argument("--data", default="", help="data folder built by iwt data build (empty: the demo data)")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--fitted", action="store_true", help="add the fitted sensitivity (not in the baseline)")
    parser.add_argument("--by-icb", action="store_true", help="print the back-test for every ICB (Markdown)")
    args = parser.parse_args(argv)
    for k, v in figures(args.data, args.runs, args.seed, args.fitted, args.by_icb).items():
        if isinstance(v, np.ndarray):
            v = " / ".join(f"{x:,.0f}" for x in v)
        elif isinstance(v, dict):
            v = ", ".join(f"{a} {b:.3g}" if isinstance(b, float) else f"{a} {b}" for a, b in v.items())
        elif isinstance(v, float):
            v = f"{v:.2f}"
        print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
