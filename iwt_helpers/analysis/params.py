"""The validated parameters of a report run (:class:`ReportParams`), checked straight after each
notebook's parameters cell and by the CLI, the report runner and the app before any work.

Papermill injects parameters but only logs names it does not know, so this module refuses
unknown names, normalises the ICB code (ODS or E54, any case) and checks the data folder.
ICB codes are checked against the closed list of 42, so no parameter can steer a path. It sits in
the analysis layer because its checks read the analysis settings (scenario names, the rules for
NHS trusts that serve several ICBs) and :class:`iwt_helpers.analysis.system_data.SystemData`
reads it; every layer above imports it from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from iwt_helpers import paths
from iwt_helpers.data import geography
from iwt_helpers.errors import IwtError


class ParameterError(IwtError, ValueError):
    """A notebook or CLI parameter that cannot be used; the message says what was expected."""


def _whole(v: Any, name: str, low: int, high: int, what: str) -> int:
    """A whole number from ``low`` to ``high`` (a bool, a fraction or text is refused)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v or not low <= int(v) <= high:
        raise ValueError(f"{name} {v!r}: expected a whole number of {what} from {low:,} to {high:,}")
    return int(v)


class ReportParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    icb_code: str                       # ODS Q-code after normalisation
    data_dir: Path | None = None        # processed data folder; None = embedded demo data
    projection_years: tuple[int, ...] = (5, 10, 15)   # data theme: years ahead for population need
    kpis: tuple[str, ...] = ()          # governance theme: KPI ids to show; empty = all
    scenario: str = "baseline"          # scenarios theme: a scenario of data/reference/scenarios.yaml
    n_runs: int = 1000                  # scenarios theme: Monte Carlo runs
    seed: int = 2022                    # scenarios theme: random seed (same seed, same figures)
    peer_count: int = 5                 # case studies theme: nearest peers shown (1 to 15)
    place: str = ""                     # data theme: a place (sub-ICB location) of the ICB, E38 after checking; "" = the ICB
    regional_trusts: str = "apportion"  # data theme, per head: NHS trusts serving several ICBs "apportion"ed, "exclude"d or at "host"

    @field_validator("icb_code", mode="before")
    @classmethod
    def _icb(cls, v: Any) -> str:
        return geography.resolve_icb(v)

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir(cls, v: Any) -> Path | None:
        if v in (None, ""):
            return None
        p = Path(str(v)).expanduser()
        if not p.is_absolute():
            p = (paths.ROOT / p).resolve()
        if not p.is_dir():
            raise ValueError(f"data_dir {str(v)!r}: folder not found (expected a folder built by "
                             "`iwt data build`, or empty for the embedded demo data)")
        return p

    @field_validator("projection_years", mode="before")
    @classmethod
    def _years(cls, v: Any) -> tuple[int, ...]:
        years = tuple(int(x) for x in (v or ()))
        if not years or any(y < 1 or y > 25 for y in years):
            raise ValueError(f"projection_years {v!r}: expected whole years from 1 to 25, e.g. [5, 10, 15]")
        return tuple(sorted(set(years)))

    @field_validator("kpis", mode="before")
    @classmethod
    def _kpis(cls, v: Any) -> tuple[str, ...]:
        if v in (None, "", []):
            return ()
        return tuple(str(x) for x in ([v] if isinstance(v, str) else v))

    @field_validator("scenario", mode="before")
    @classmethod
    def _scenario(cls, v: Any) -> str:
        from iwt_helpers.analysis.scenarios import config
        name = str(v or "baseline")
        config.load().get(name)            # an unknown name fails with the file's scenarios listed
        return name

    @field_validator("regional_trusts", mode="before")
    @classmethod
    def _regional(cls, v: Any) -> str:
        from iwt_helpers.analysis.trust_catchment import RULES
        rule = str(v or "apportion").strip().lower()
        if rule not in RULES:
            raise ValueError(f"regional_trusts {v!r}: expected one of {', '.join(RULES)} (default apportion)")
        return rule

    @field_validator("n_runs", mode="before")
    @classmethod
    def _runs(cls, v: Any) -> int:
        return _whole(v, "n_runs", 1, 100_000, "runs")

    @field_validator("peer_count", mode="before")
    @classmethod
    def _peers(cls, v: Any) -> int:
        return _whole(v, "peer_count", 1, 15, "peers")

    @model_validator(mode="after")
    def _place(self) -> ReportParams:
        if self.place:
            from iwt_helpers.data import places
            object.__setattr__(self, "place", places.resolve_place(self.icb_code, self.place))
        return self

    @property
    def place_name(self) -> str:
        """The place's readable name with its ODS code, e.g. 'Bolton (00T)'; '' for the whole ICB."""
        if not self.place:
            return ""
        p = geography.sub_icbs().set_index("sicb_code").loc[self.place]
        return f"{p['place_name']} ({p['sicb_ods']})"

    @classmethod
    def parse(cls, **values: Any) -> ReportParams:
        """Validate notebook parameters; raise :class:`ParameterError` with a plain message."""
        try:
            return cls(**values)
        except ValidationError as err:
            msgs = []
            for e in err.errors():
                field = ".".join(str(x) for x in e["loc"]) or "parameters"
                text = e["msg"].removeprefix("Value error, ")
                if e["type"] == "extra_forbidden":
                    text = f"unknown parameter; known parameters: {', '.join(cls.model_fields)}"
                msgs.append(f"{field}: {text}")
            raise ParameterError("Invalid report parameters:\n  " + "\n  ".join(msgs)) from None

    @property
    def icb_name(self) -> str:
        return geography.icb_name(self.icb_code)

    @property
    def region_code(self) -> str:
        return geography.region_of(self.icb_code)
