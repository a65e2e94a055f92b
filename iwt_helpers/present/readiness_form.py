"""The readiness form: partners score each item of the guide's checklist with its level descriptors
in view, add evidence, owner and due date, and save a round (``data.readiness_store``). Shown in the
readiness notebook in JupyterLab and, for partners, by the readiness app; a widget, so it sits with
the other JupyterLab controls."""

from __future__ import annotations

import os
from datetime import date

import pandas as pd

from iwt_helpers.data import geography
from iwt_helpers.data import readiness_store as store

from .explorer import BATCH_ENV, widgets_available


class ReadinessForm:
    """Pick the ICB and partner, score each item with its level descriptors in view, add evidence,
    owner and due date, and save (a new round). Choosing a partner shows its latest saved answers.

    Shown only in an interactive JupyterLab session (or the readiness app): under the report
    runner (``IWT_BATCH=1``) or without ipywidgets, :meth:`show` does nothing. ``show_path``: say
    where the round was saved (the notebook does; the app, for partners, does not)."""

    def __init__(self, icb_code: str, data_dir=None, interactive: bool | None = None, show_path: bool = True):
        self.icb_code = geography.resolve_icb(icb_code)
        self.data_dir = data_dir
        self.show_path = show_path
        self._saved: list = []
        self.bank = store.item_bank()
        if interactive is None:
            interactive = os.environ.get(BATCH_ENV, "") != "1" and widgets_available()
        self.interactive = interactive
        self.rows: dict[str, dict] = {}
        self.widget = None

    def build(self):
        import ipywidgets as w

        icbs = geography.icbs().sort_values("icb_short_name")
        self.icb = w.Dropdown(options=[(f"{r.icb_short_name} ({r.icb_code})", r.icb_code) for r in icbs.itertuples()],
                              value=self.icb_code, description="ICB:", layout=w.Layout(width="420px"))
        self.partner = w.Combobox(options=store.partners(self.icb_code, self.data_dir), placeholder="partner organisation",
                                  description="Partner:", ensure_option=False, layout=w.Layout(width="420px"))
        self.when = w.DatePicker(value=date.today(), description="Assessed on:", style={"description_width": "initial"})
        self.status = w.HTML()
        save = w.Button(description="Save round", button_style="primary", icon="save")
        save.on_click(lambda _b: self.save())
        self.icb.observe(lambda ch: self._on_icb(ch["new"]), names="value")
        self.partner.observe(lambda ch: self.load_latest(), names="value")
        options = [("not assessed", None)] + [(f"{lv} {name}", lv) for lv, name in sorted(self.bank.scale.items())]
        boxes = []
        for _domain, items in self.bank.items.groupby("domain", sort=False):
            boxes.append(w.HTML(f"<h4>{_esc(items['domain_label'].iloc[0])}</h4>"))
            for it in items.itertuples(index=False):
                levels = "".join(f"<li><b>{lv} {_esc(self.bank.scale[lv])}</b>: {_esc(getattr(it, f'level_{lv}'))}</li>"
                                 for lv in self.bank.levels)
                row = {"score": w.Dropdown(options=options, value=None, description="Score:"),
                       "evidence": w.Textarea(placeholder="evidence for the score", layout=w.Layout(width="60%")),
                       "owner": w.Text(placeholder="owner (a role)", description="Owner:"),
                       "due_date": w.DatePicker(description="Due:")}
                self.rows[it.id] = row
                boxes.append(w.VBox([w.HTML(f"<b>{_esc(it.id)}</b> {_esc(it.text)}<ul style='margin:2px 0'>{levels}</ul>"
                                            f"<i>Helps: {_esc(it.helps)}</i>"),
                                     w.HBox([row["score"], row["owner"], row["due_date"]]), row["evidence"]],
                                    layout=w.Layout(border="1px solid #E8EDEE", padding="4px", margin="2px 0")))
        self.widget = w.VBox([w.HBox([self.icb, self.partner]), w.HBox([self.when, save, self.status]), *boxes])
        return self.widget

    def show(self, explorer=None, ctx=None) -> None:
        """Display the form. With an ``explorer`` (and the notebook's ``ctx``, whose ``forget(icb)`` makes
        it read the ICB's rounds again), the form follows the explorer's ICB picker, and a saved round
        redraws the report below for its ICB."""
        if not self.interactive:
            return
        from IPython.display import display
        display(self.build())
        if explorer is not None:
            explorer.observe(lambda name, value: self.set_icb(value) if name == "icb_code" else None)

            def redraw(icb: str) -> None:
                if ctx is not None:
                    ctx.forget(icb)
                if explorer.value("icb_code") == icb:
                    explorer.redraw()
            self.on_save(redraw)

    def on_save(self, callback) -> None:
        """Call ``callback(icb_code)`` after each round saved."""
        self._saved.append(callback)

    def set_icb(self, icb: str) -> None:
        if self.widget is not None:
            self.icb.value = geography.resolve_icb(icb)      # its observer loads the ICB's partners

    def _on_icb(self, icb: str) -> None:
        self.icb_code = icb
        self.partner.options = store.partners(icb, self.data_dir)
        self.load_latest()

    def load_latest(self) -> None:
        """Fill the form with the partner's latest saved answers (blank where none)."""
        name = (self.partner.value or "").strip()
        latest = store.latest_answers(self.icb_code, name, self.data_dir).set_index("item_id") if name else pd.DataFrame()
        for item_id, row in self.rows.items():
            prev = latest.loc[item_id] if item_id in latest.index else None
            row["score"].value = None if prev is None or pd.isna(prev["score"]) else int(prev["score"])
            row["evidence"].value = "" if prev is None or pd.isna(prev["evidence"]) else str(prev["evidence"])
            row["owner"].value = "" if prev is None or pd.isna(prev["owner"]) else str(prev["owner"])
            row["due_date"].value = None if prev is None or pd.isna(prev["due_date"]) else prev["due_date"].date()
        self.status.value = (f"<span style='color:#425563'>latest saved answers of {_esc(name)} "
                             f"({latest['assessment_date'].iloc[0]:%d %B %Y})</span>" if len(latest) else "")

    def answers(self) -> list[dict]:
        return [{"item_id": i, "score": r["score"].value, "evidence": r["evidence"].value, "owner": r["owner"].value,
                 "due_date": r["due_date"].value} for i, r in self.rows.items()]

    def save(self) -> None:
        try:
            path = store.save_round(self.icb_code, self.partner.value or "", self.when.value, self.answers(), self.data_dir,
                                    origin="the form")
        except (store.ResponsesError, OSError, RuntimeError) as err:
            self.status.value = f"<span style='color:#DA291C'>Not saved: {_esc(str(err))}</span>"
            return
        where = f"to {path}" if self.show_path else f"for {geography.icb_name(self.icb_code)}"
        self.status.value = (f"<span class='iwt-saved' style='color:#009639'>Saved: {_esc(self.partner.value)}'s round of "
                             f"{self.when.value:%d %B %Y} {_esc(where)}</span>")
        self.partner.options = store.partners(self.icb_code, self.data_dir)
        for callback in self._saved:
            callback(self.icb_code)


def _esc(text) -> str:
    import html
    return html.escape(str(text))

