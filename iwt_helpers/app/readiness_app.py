"""What the readiness app's page shows (run inside the Voila kernel by ``readiness.ipynb``): a short
introduction and :class:`iwt_helpers.themes.readiness.ReadinessForm`, which saves rounds exactly as
the notebook form does (``readiness_store.save_round``, origin "the form")."""

from __future__ import annotations

import os

from IPython.display import HTML, display

from iwt_helpers.data import geography
from iwt_helpers.themes import readiness as readiness_theme
from iwt_helpers.themes.params import ReportParams

DATA_ENV = "IWT_APP_DATA"      # the data folder the server was given (empty: data/readiness)
ICB_ENV = "IWT_APP_ICB"        # the ICB the form opens on

INTRO = """<div style="max-width:60em">
<h2 style="color:#003087;margin:0 0 4px 0">Readiness self-assessment</h2>
<p>Score how ready your organisation is to plan the workforce with the other partners of your Integrated Care
System, against the checklist of readiness and the top tips of <em>Integrated workforce thinking across systems</em>
(NHS Employers, Skills for Care, LGA/ADASS, 2022).</p>
<ol style="margin:0 0 8px 0">
<li>Choose your ICB and type or pick your organisation (your last saved answers appear).</li>
<li>Score each item from the level descriptors under it, and say what evidence the score rests on.</li>
<li>Name an owner (a role, not a person) and a due date for the next step where you have one, then <b>Save round</b>.</li>
</ol>
<p style="color:#425563;font-size:12px">Each save adds a new round; earlier rounds are kept unchanged. Anything you type
is stored as text.</p></div>"""


def form_for_environment() -> readiness_theme.ReadinessForm:
    """The form for the server's data folder and ICB (validated as a report's parameters are)."""
    params = ReportParams.parse(icb_code=os.environ.get(ICB_ENV) or geography.icb_codes()[0],
                                data_dir=os.environ.get(DATA_ENV, ""))
    return readiness_theme.ReadinessForm(params.icb_code, params.data_dir, interactive=True, show_path=False)


def show() -> readiness_theme.ReadinessForm:
    display(HTML(INTRO))
    form = form_for_environment()
    form.show()
    return form
