"""The flows' rows of `mediacourier status`: where each flow's run is, and the source it takes
its files from shown as that flow's (nothing else ingests such a source: it is no idle inbox)."""

from __future__ import annotations

import time

from rich.table import Table
from rich.text import Text

from shared.config import Settings
from shared.flow import flow_progress
from shared.state import RedisStateStore, escape_text


def flow_rows(shown: Table, store: RedisStateStore, settings: Settings) -> None:
    """'flow relay | step 3 of 7, compress, 4 files waiting', then 'source icloud | feeds flow
    relay: …' for each source the flow takes; a held flow in red with when it was held."""
    for name, flow in sorted(settings.flows.items()):
        progress = flow_progress(store, flow)
        line = escape_text(progress.text())
        if progress.state == "held":
            since = time.strftime("%H:%M:%S", time.localtime(progress.since))
            shown.add_row(f"flow {name}", Text.assemble(("HELD", "red"),
                                                        f" since {since}: {line}"))
        else:
            shown.add_row(f"flow {name}", Text(line))
        for source in sorted(settings.sources):
            if settings.flow_fed_by(source) is flow:
                shown.add_row(f"source {source}", Text(f"feeds flow {name}: {line}"))
