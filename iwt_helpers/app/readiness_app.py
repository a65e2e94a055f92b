"""What the readiness app's page shows (run inside the Voila kernel by ``readiness.ipynb``): a short
introduction and :class:`iwt_helpers.present.readiness_form.ReadinessForm`, which saves rounds exactly as
the notebook form does (``readiness_store.save_round``, origin "the form")."""

from __future__ import annotations

import html
import os
import re

from IPython.display import HTML, display

from iwt_helpers import atomic
from iwt_helpers.analysis.params import ReportParams
from iwt_helpers.data import geography
from iwt_helpers.data import readiness_store as store
from iwt_helpers.present.readiness_form import ReadinessForm

DATA_ENV = "IWT_APP_DATA"      # the data folder the server was given (empty: data/readiness)
ICB_ENV = "IWT_APP_ICB"        # the ICB the form opens on
IDLE_ENV = "IWT_APP_IDLE_MINUTES"   # minutes unused after which the page's kernel is stopped

TELL_US = "please tell the team that runs this form; your answers are still on this page"
_PATH = re.compile(r"(?<![\w:/.])(?:/[\w.@+-]+)+/?")            # an absolute server path
_PID = re.compile(r"\s*\(?\bpid\s*\d+\)?", re.IGNORECASE)      # a process id, as the file lock names it


def partner_message(err: Exception, responses_file) -> str:
    """What a partner is told when a round is not saved: what happened and what to do, never a server
    path or process id."""
    if isinstance(err, atomic.LockedError):
        return "someone else is saving a round for this ICB at this moment; wait a few seconds and press Save round again."
    if isinstance(err, store.ResponsesError) and str(responses_file) in str(err):
        return f"the rounds already saved for this ICB could not be read on the server, so nothing was saved; {TELL_US}."
    if isinstance(err, store.ResponsesError):          # the answers themselves: the message says which and why
        return _PID.sub("", _PATH.sub("(a file on the server)", str(err)))
    if isinstance(err, OSError):
        why = f" ({err.strerror.lower()})" if err.strerror else ""
        return f"the server could not store the round{why}, so nothing was saved; {TELL_US}."
    return f"the round could not be saved; {TELL_US}."


class PartnerForm(ReadinessForm):
    """The notebook's form as partners see it: saving works the same way, but a round that is not saved is
    explained without the server's paths or process ids."""

    def save(self) -> None:
        file = store.responses_path(self.icb_code, self.data_dir)
        try:
            store.save_round(self.icb_code, self.partner.value or "", self.when.value, self.answers(), self.data_dir,
                             origin="the form")
        except (store.ResponsesError, OSError, RuntimeError) as err:
            self.status.value = (f"<span class='iwt-not-saved' style='color:#DA291C'>Not saved: "
                                 f"{html.escape(partner_message(err, file))}</span>")
            return
        self.status.value = (f"<span class='iwt-saved' style='color:#009639'>Saved: {html.escape(self.partner.value)}'s "
                             f"round of {self.when.value:%d %B %Y} for {html.escape(geography.icb_name(self.icb_code))}</span>")
        self.partner.options = store.partners(self.icb_code, self.data_dir)

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


def form_for_environment() -> ReadinessForm:
    """The form for the server's data folder and ICB (validated as a report's parameters are)."""
    params = ReportParams.parse(icb_code=os.environ.get(ICB_ENV) or geography.icb_codes()[0],
                                data_dir=os.environ.get(DATA_ENV, ""))
    return PartnerForm(params.icb_code, params.data_dir, interactive=True, show_path=False)


def idle_note() -> str:
    minutes = os.environ.get(IDLE_ENV, "")
    return (f"<p style='color:#425563;font-size:12px'>A page left unused for {html.escape(minutes)} minutes is closed "
            "on the server: reload it then (saved rounds are kept, unsaved answers are not).</p>" if minutes else "")


def show() -> ReadinessForm:
    display(HTML(INTRO + idle_note()))
    form = form_for_environment()
    form.show()
    return form
