"""Which fundamentals a price source's market gets: simulated, files only, or FRED and SEC.

The demo market brings its own simulated figures; `files` reads the user's fundamentals
files and never opens a socket; `yahoo` also asks FRED, and the SEC when a contact for its
User-Agent is configured. A user's file replaces a source's series whole, on every source.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from signals.market import MarketData
from signals.sources.fundamentals import (
    Fundamentals,
    FundamentalsSpec,
    load_fundamentals,
    load_fundamentals_files,
    override,
)

log = logging.getLogger("signals.sources")


def attach_fundamentals(data: MarketData, source: str, spec: FundamentalsSpec) -> MarketData:
    """`data` with its fundamentals for `source` (see the module doc). A bad file raises
    `DataFileError`; a source's bad answer is logged and its last good answer kept."""
    if source == "demo":
        simulated = data.fundamentals or Fundamentals()
        if not spec.files:
            return data
        files = load_fundamentals_files(spec.files)
        return replace(
            data, fundamentals=Fundamentals(override(simulated.series, files), simulated.sec)
        )
    offline = source != "yahoo"
    if not offline and spec.sec_user_agent is None:
        log.info(
            "no SEC user agent configured (data.sec_user_agent or ROTATION_BOT_SEC_USER_AGENT): "
            "the energy FCF yield and the bottom-up P/E are left out"
        )
    members = data.universe.all_tickers()
    found = load_fundamentals(replace(spec, offline=offline), members)
    return replace(data, fundamentals=found)
