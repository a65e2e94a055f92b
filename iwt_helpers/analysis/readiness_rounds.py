"""An ICB's readiness rounds as the readiness and case-studies themes read them: its saved rounds
(``<data>/readiness/<ICB>.csv``, real) or, where nothing has been saved for it, the demo set's
synthetic rounds (read through the datastore, so they are listed among the data used), each ICB read
once until a new round is saved."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from iwt_helpers.data import geography
from iwt_helpers.data import readiness_store as store
from iwt_helpers.data.datastore import Dataset

from . import readiness as ra
from .params import ReportParams


@dataclass
class Responses:
    """One ICB's responses with where they came from."""
    df: pd.DataFrame
    saved: bool                  # True: the ICB's saved rounds; False: the demo set's synthetic rounds
    file: str
    _scoring: ra.Scoring | None = field(default=None, repr=False, compare=False)

    @property
    def synthetic(self) -> bool:
        return not self.saved

    def scoring(self, bank: store.ItemBank) -> ra.Scoring:
        """The figures of these responses, each worked out once (shared: never change them)."""
        if self._scoring is None or self._scoring.bank is not bank:
            self._scoring = ra.Scoring(self.df, bank)
        return self._scoring


@dataclass
class ReadinessRounds:
    ds: Dataset
    params: ReportParams
    bank: store.ItemBank = field(default_factory=store.item_bank)
    _cache: dict = field(default_factory=dict)
    _demo: pd.DataFrame | None = None

    @classmethod
    def load(cls, ds: Dataset, params: ReportParams) -> ReadinessRounds:
        return cls(ds, params)

    def demo(self) -> pd.DataFrame:
        if self._demo is None:
            self._demo = self.ds.table("readiness_responses")
        return self._demo

    def responses(self, icb: str) -> Responses:
        icb = geography.resolve_icb(icb)
        if icb not in self._cache:
            saved = store.read_responses(icb, self.params.data_dir)
            if saved is not None and len(saved):
                self._cache[icb] = Responses(saved.assign(synthetic=False), True, str(store.responses_path(icb, self.params.data_dir)))
            else:
                demo = self.demo()
                rows = demo[demo["icb_code"] == icb].assign(synthetic=True).reset_index(drop=True)
                self._cache[icb] = Responses(rows, False, str(self.ds.info("readiness_responses").path))
        return self._cache[icb]

    def synthetic(self, icb: str) -> bool:
        return self.responses(icb).synthetic

    def forget(self, icb: str) -> None:
        """Read the ICB's responses again next time (after a round has been saved)."""
        self._cache.pop(geography.resolve_icb(icb), None)

    def assessed(self, resp: Responses, periods: list[pd.Period] | None = None) -> tuple[pd.DataFrame, str]:
        """The rows of the assessments of some periods (default every one) and their dates, for their
        provenance: 'assessments of 3 and 17 March 2025' ('' when there are none)."""
        dates = ra.rounds(resp.df) if periods is None else [d for p in periods for d in ra.period_dates(resp.df, p, self.bank)]
        period = f"assessments of {ra.dates_text(dates)}" if dates else ""
        rows = resp.df if periods is None else resp.df[resp.df["assessment_date"].isin(dates)]
        return rows, period
