"""Work a process keeps from one report to the next (issue #29).

A warm kernel writes report after report over the same data folder. What a report works out from the
tables alone (the whole-system snapshot, the funnels of all 42 ICBs, each ICB's rows split once, its
figures) is the same for the next ICB's report, and for the next theme's, so it is kept under a key of
everything it depends on: the data folder and the version of every file the data set can read
(:meth:`Dataset.version <iwt_helpers.data.datastore.Dataset.version>`) and the report parameters it reads. Only
the last :data:`KEPT` keys are kept, so a kernel that moves to another data folder lets the old work go.

What is kept is shared by every later report: never change it. The tables its first working-out read are
kept with it and recorded as read again each time it is used (:meth:`Dataset.recording
<iwt_helpers.data.datastore.Dataset.recording>`), so that a report lists the same tables whether it worked
something out or found it kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from iwt_helpers.data.datastore import Dataset

KEPT = 2


class Kept(OrderedDict):
    """Stores of kept work, one per key, the last ``size`` keys used."""

    def __init__(self, size: int = KEPT) -> None:
        super().__init__()
        self.size = size

    def store(self, key: Hashable) -> dict:
        """The store of ``key`` (new and empty the first time), now the last used."""
        if key not in self:
            self[key] = {}
            while len(self) > self.size:
                self.popitem(last=False)
        self.move_to_end(key)
        return self[key]


def once(ds: Dataset, store: dict, key: Hashable, compute: Callable[[], Any]) -> Any:
    """``compute()`` once for ``store``; ``ds`` records the tables it read as read each time (what it
    returns is shared: never change it)."""
    if key not in store:
        with ds.recording() as used:
            value = compute()
        store[key] = (value, list(dict(used).items()))     # each table once, where it was first read, as last read
    value, used = store[key]
    ds.replay(used)
    return value
