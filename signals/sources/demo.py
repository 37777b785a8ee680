"""The `demo` price source: a bundled, deterministic simulated market (labelled simulated).

It lets every command run offline and gives every default alert rule something to fire on:
about 500 fictional members (plus the seven mega-cap tickers) in the 11 GICS sectors, their
market caps, P/E snapshots for SPY and IWM, the benchmark and sector ETFs built from the
members, and simulated fundamentals (`signals.sources.demo_fundamentals`). See
`signals.sources.demo_market` for the model and the scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from signals.calendar import last_completed_session, sessions
from signals.market import MarketData
from signals.sources.demo_fundamentals import simulated_fundamentals
from signals.sources.demo_market import SimulatedMarket, generate
from signals.sources.fundamentals import Fundamentals
from signals.universe import Universe, members_from_frame

#: Fewer years would lose the early scenario phases and the 200-session warm-up.
MIN_YEARS = 3


@dataclass(eq=False)
class DemoSource:
    """The simulated market for `seed`, `years` of NYSE sessions ending on `end`.

    end: the last session of the simulated history (default: the last completed NYSE
        session when `load` is first called). The whole history is deterministic given
        (seed, end, years); a later `end` gives a different history, since the scenario's
        phases are anchored at the last session.
    """

    seed: int = 7
    end: pd.Timestamp | None = None
    years: int = 7
    name: str = field(default="demo", init=False)
    simulated: bool = field(default=True, init=False)
    _market: SimulatedMarket | None = field(default=None, init=False, repr=False)
    _universe: Universe | None = field(default=None, init=False, repr=False)
    _fundamentals: Fundamentals | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.years < MIN_YEARS:
            raise ValueError(f"the demo market needs at least {MIN_YEARS} years, not {self.years}")

    def load(self, universe: Universe | None = None, end: pd.Timestamp | None = None) -> MarketData:
        """The simulated market, cut at `end` when given (nothing after it is visible).

        The demo always returns its own members: a `universe` passed in is ignored, because
        the simulated prices exist only for the simulated companies (`load_market` swaps in
        ``--members`` afterwards when the user asks for it).
        """
        del universe  # see the docstring: the demo's members are the only ones with prices
        market, members = self._generate()
        data = MarketData(
            closes=market.closes,
            universe=members,
            caps=market.caps,
            valuations=market.valuations,
            source=self.name,
            simulated=True,
            fundamentals=self._simulated_fundamentals(market),
        )
        return data if end is None else data.up_to(pd.Timestamp(end))

    def _simulated_fundamentals(self, market: SimulatedMarket) -> Fundamentals:
        if self._fundamentals is None:
            self._fundamentals = simulated_fundamentals(market, self.seed)
        return self._fundamentals

    def _generate(self) -> tuple[SimulatedMarket, Universe]:
        if self._market is None or self._universe is None:
            last = pd.Timestamp(self.end).normalize() if self.end is not None else None
            last = last_completed_session() if last is None else last
            start = last - pd.DateOffset(years=self.years) + pd.Timedelta(days=1)
            self._market = generate(self.seed, sessions(start, last))
            table = members_from_frame(self._market.members, "demo market")
            self._universe = Universe(table=table, membership=None, as_of=None)
        return self._market, self._universe
