"""Report wording the themes share: the ICB's display name, short sector names, display labels of codes
that analysis returns, and each caveat's text by assumption id (``data/reference/caveats.yaml``).

The one theme module every theme may import from another; anything else a theme says in words is its
own. Analysis returns codes (hours bands, GP roles, kinds of NHS trust, the regional-trusts rule) and
the themes label them here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from iwt_helpers.data import geography
from iwt_helpers.present import caveats as _caveats


def icb_name(icb: str) -> str:
    """The ICB's name as reports show it (e.g. 'NHS Greater Manchester Integrated Care Board')."""
    return geography.icb_name(icb)


# Sectors as a sentence names them: adult social care once, whoever employs its staff.
SHORT_SECTOR = {"nhs_trust": "NHS trusts", "primary_care": "general practice", "asc_local_authority": "adult social care",
                "asc_independent": "adult social care", "asc_voluntary": "adult social care"}


def sector_words(sectors: Iterable[str]) -> str:
    """'NHS trusts, general practice, adult social care': each short sector name once, in order."""
    return ", ".join(dict.fromkeys(SHORT_SECTOR.get(s, s) for s in sectors))


# Unpaid care by hours a week (analysis.carers returns the codes, in this order, and 'all').
CARER_HOURS = {"19h_or_less": "19 hours a week or less", "20_49h": "20 to 49 hours", "50h_plus": "50 hours or more",
               "all": "All unpaid carers"}

# General practice staff by role (analysis.primary_care returns the codes).
GP_ROLE = {"gp_qualified": "GPs (excluding trainees and locums)", "gp_trainee_locum": "GP trainees and locums",
           "nurse": "Practice nurses", "direct_patient_care": "Direct patient care", "admin": "Admin and non-clinical",
           "gp_partner": "GP partners (part of qualified GPs)"}

# NHS trusts serving several ICBs: the report parameter regional_trusts in a few words, and how each kind
# of trust is attributed to the ICBs it serves (analysis.trust_catchment returns the codes).
REGIONAL_TRUST_RULE = {"apportion": "NHS trusts apportioned to the ICBs they serve",
                       "exclude": "ambulance and regional NHS trusts left out",
                       "host": "NHS trusts in the ICB they sit in"}
TRUST_KIND = {"acute_specialist": "Acute or specialist (split by admissions)",
              "ambulance": "Ambulance (split by population served)",
              "host": "Mental health, community or other (stays with its host)"}


def caveat(caveat_id: str, **values) -> str:
    """A caveat's text by its id (the assumption it states: 'A18', or 'A35.demo' where one assumption
    has several), with its names filled from ``values``, as the report's caveat list shows it."""
    return _caveats.text(caveat_id, **values)


def readiness_rounds_caveat(saved: bool, file: str) -> str:
    """Whose readiness rounds a report shows (A35): the ICB's saved rounds (``file``, the ICB's file of
    them) or, when it has none, the demonstration set's synthetic ones."""
    return caveat("A35.saved", file=os.path.basename(file)) if saved else caveat("A35.demo")


__all__ = ["icb_name", "SHORT_SECTOR", "sector_words", "CARER_HOURS", "GP_ROLE", "REGIONAL_TRUST_RULE", "TRUST_KIND",
           "caveat", "readiness_rounds_caveat"]
