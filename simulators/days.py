"""Several days of one store: the same members, catalog and staff, a new scenario each day,
and the truth that only a span of days has (members who buy again).

Day `n` (0-based) opens `n` days after the first and draws its scenario from seed
`seed + n`, so each day is a different day with the same people.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable

from simulators.batching import batch_emissions
from simulators.run import SimulationOptions, SimulationPlan, plan_simulation
from simulators.scenario import build_scenario, run_tag
from simulators.truth import VisitTruth

DAY_MS = 86_400_000


def plan_days(options: SimulationOptions, days: int) -> list[SimulationPlan]:
    """One plan per day; each plan's options carry that day's seed and start."""
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    first = plan_simulation(options)
    plans = [first]
    for day in range(1, days):
        day_options = dataclasses.replace(
            options, seed=options.seed + day, start_ms=first.start_ms + day * DAY_MS
        )
        start_ms = first.start_ms + day * DAY_MS
        scenario = build_scenario(
            day_options.scenario_config(start_ms=start_ms),
            members=first.members,
            catalog=first.catalog,
            staff=first.staff,
        )
        plans.append(
            SimulationPlan(
                options=day_options,
                start_ms=start_ms,
                run=run_tag(day_options.seed, options.store, start_ms),
                members=first.members,
                catalog=first.catalog,
                staff=first.staff,
                scenario=scenario,
                messages=batch_emissions(
                    scenario.emissions,
                    batch_size=options.batch_size,
                    linger_ms=int(options.batch_linger_s * 1000),
                ),
            )
        )
    return plans


@dataclasses.dataclass(frozen=True, slots=True)
class RepurchaseTruth:
    """Members a store can know bought: consenting members named at the till."""

    sales_by_member: dict[str, int]

    @property
    def members_buying(self) -> int:
        return len(self.sales_by_member)

    @property
    def members_repurchasing(self) -> int:
        return sum(1 for sales in self.sales_by_member.values() if sales >= 2)


def repurchase_truth(parties: Iterable[VisitTruth]) -> RepurchaseTruth:
    """Sales per member over the given visits (of any number of days), counting the sales
    that name a consenting member by card or phone: the ones the service attributes."""
    sales = Counter(
        party.member_id
        for party in parties
        if party.member_id and party.consent and party.member_ref and party.sale_id
    )
    return RepurchaseTruth(dict(sorted(sales.items())))
