"""The Mega-7's part of the cap-weighted return over any period, not only the calendar year.

`mega7_contribution` (in `caps`) measures each calendar year from the last session of the
year before; here the same computation runs from any base session to any later one:

- weights: company caps on the base session (members with a cap there), each company once
  with its largest share class (`caps.company_weights`);
- r_i: the return of that class from the base close to the end close (no close on the end
  session: the company contributes nothing, weights are not renormalised);
- the index return = 100 * sum_all w_i r_i; the seven's part = 100 * sum_seven w_i r_i;
  the share = 100 * part / index return, None when |index return| < `min_pp`.

`CapBases.build` does what every question needs once per market (caps ratios, members,
company codes); `CapBases.mega_seven` then answers one period in microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from signals.indicators.caps import (
    class_rank,
    company_weights,
    member_companies,
    snapshot_ratios,
)
from signals.indicators.history import MEGA_SEVEN_TICKERS
from signals.indicators.members import Members
from signals.market import MarketData


@dataclass(frozen=True)
class CompanyPart:
    """One company of the seven over a period: `ticker` is the class whose return counts;
    `weight`, `ret` in percent, `contribution` in pp (None where it has no cap on the base)."""

    company: str
    ticker: str
    weight: float | None
    ret: float | None
    contribution: float | None


@dataclass(frozen=True)
class MegaSeven:
    """The seven over a period (see the module doc); percentages and pp.

    companies_with_cap / member_companies: the cap coverage on the base session;
    oldest_snapshot: the date of the oldest cap snapshot behind a cap used (None: no cap).
    """

    base: pd.Timestamp
    end: pd.Timestamp
    parts: tuple[CompanyPart, ...]
    index_return: float | None
    seven_pp: float | None
    share: float | None
    companies_with_cap: int
    member_companies: int
    oldest_snapshot: pd.Timestamp | None


@dataclass(frozen=True)
class CapBases:
    """What any period's Mega-7 answer reads, computed once per market.

    sessions: the calendar the rows refer to; closes: sessions x panel columns.
    cols / codes / companies: panel columns with a cap snapshot, ordered as `cap_panel`
        orders them (first share classes first), their company codes and company names.
    dates / ratios / used: the snapshot dates, the carried cap ratios (dates x cols) and the
        snapshot row each ratio comes from.
    """

    sessions: pd.DatetimeIndex
    closes: np.ndarray
    columns: pd.Index
    cols: np.ndarray
    codes: np.ndarray
    companies: list[str]
    dates: np.ndarray
    ratios: np.ndarray
    used: np.ndarray
    members: Members
    member_companies: np.ndarray
    seven: tuple[str, ...]

    @staticmethod
    def build(data: MarketData, sessions: pd.DatetimeIndex) -> CapBases:
        """From the market data, on the calendar `sessions` (the signal history's)."""

        panel = (
            data.closes.reindex(sessions)
            if not data.closes.index.equals(sessions)
            else (data.closes)
        )
        columns = pd.Index(panel.columns)
        closes = panel.to_numpy(dtype=np.float64)
        members = Members.build(data.universe, sessions, columns, closes)
        seven = tuple(dict.fromkeys(data.universe.company_of(list(MEGA_SEVEN_TICKERS))))
        companies_per_session = member_companies(data.universe, sessions, members.count)
        caps = data.caps
        if caps is None or caps.empty or not members.eligible.any():
            empty = np.empty(0, np.int64)
            return CapBases(
                sessions, closes, columns, empty, empty, [], np.empty(0, "datetime64[ns]"),
                np.empty((0, 0)), np.empty((0, 0), np.int64), members, companies_per_session,
                seven,
            )  # fmt: skip
        dates, cols, k, used = snapshot_ratios(sessions, closes, caps, columns, members.eligible)
        codes, uniques = pd.factorize(members.company[cols])
        rank = class_rank(codes)
        order = np.lexsort((np.arange(len(cols)), rank))  # as cap_panel: first classes first
        return CapBases(
            sessions=sessions,
            closes=closes,
            columns=columns,
            cols=cols[order],
            codes=codes[order],
            companies=[str(c) for c in uniques],
            dates=dates,
            ratios=k[:, order],
            used=used[:, order],
            members=members,
            member_companies=companies_per_session,
            seven=seven,
        )

    def ticker_caps(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(caps, snapshot rows) per col on session `row`: NaN / -1 where none."""
        q = int(np.searchsorted(self.dates, self.sessions[row].to_datetime64(), side="right"))
        n = len(self.cols)
        if q == 0 or n == 0:
            return np.full(n, np.nan), np.full(n, -1, np.int64)
        caps = self.closes[row, self.cols] * self.ratios[q - 1]
        mask = self.members.mask
        member = mask[row if self.members.pit else 0, self.cols]
        caps = np.where(member, caps, np.nan)
        return caps, np.where(np.isnan(caps), -1, self.used[q - 1])

    def mega_seven(self, base_row: int, end_row: int, min_pp: float = 0.5) -> MegaSeven:
        """The seven from the close on `base_row` to the close on `end_row`."""
        base, end = self.sessions[base_row], self.sessions[end_row]
        cap_b, snap_rows = self.ticker_caps(base_row)
        split = company_weights(cap_b, self.codes)
        if split is None:
            empty = tuple(CompanyPart(c, "", None, None, None) for c in self.seven)
            return MegaSeven(
                base, end, empty, None, None, None, 0, int(self.member_companies[base_row]), None
            )
        price_cols = self.cols[split.classes]
        ret = self.closes[end_row, price_cols] / self.closes[base_row, price_cols] - 1.0
        ret_used = np.where(np.isnan(ret), 0.0, ret)
        contrib = 100.0 * split.weights * ret_used
        total = float(contrib.sum())
        names = [self.companies[c] for c in split.companies]
        is_seven = np.array([n in self.seven for n in names], dtype=bool)
        part = float(contrib[is_seven].sum())
        share = 100.0 * part / total if abs(total) >= min_pp else None
        at = {n: i for i, n in enumerate(names)}
        parts: list[CompanyPart] = []
        for name in self.seven:
            i = at.get(name)
            if i is None:
                parts.append(CompanyPart(name, "", None, None, None))
                continue
            r = None if np.isnan(ret[i]) else 100.0 * float(ret[i])
            parts.append(
                CompanyPart(
                    name,
                    str(self.columns[price_cols[i]]),
                    100.0 * float(split.weights[i]),
                    r,
                    float(contrib[i]),
                )
            )
        valid = snap_rows[snap_rows >= 0]
        oldest = pd.Timestamp(self.dates[valid.min()]) if len(valid) else None
        return MegaSeven(
            base=base,
            end=end,
            parts=tuple(parts),
            index_return=100.0 * float(split.weights @ ret_used),
            seven_pp=part,
            share=share,
            companies_with_cap=len(split.companies),
            member_companies=int(self.member_companies[base_row]),
            oldest_snapshot=oldest,
        )
