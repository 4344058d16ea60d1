"""The simulator against the service's own readers: the member CSV imports with the registry
parser, and the service's identity resolution finds exactly the members the truth says it may."""

from __future__ import annotations

from pathlib import Path

from ingest.identity import MemberDirectory
from simulators.population import write_members_csv
from simulators.run import SimulationOptions, plan_simulation
from storesense.protocol.events import BeaconSighting, PosSale
from storesense.registry.members import parse_members_csv

START_MS = 1_780_000_000_000


def test_member_csv_imports_with_the_registry_parser(tmp_path: Path) -> None:
    plan = plan_simulation(SimulationOptions(seed=6, duration_s=600, start_ms=START_MS))
    path = tmp_path / "members.csv"
    write_members_csv(plan.members, path)
    imported = parse_members_csv(path.read_text("utf-8"), source=str(path))
    assert [m.member_id for m in imported] == [m.member_id for m in plan.members]
    for registry, simulated in zip(imported, plan.members, strict=True):
        assert registry.name == simulated.name and registry.tier == simulated.tier
        assert registry.consent == simulated.consent
        assert registry.card_epcs == (simulated.card_epc,)
        expected_key = simulated.app_key.hex() if simulated.app_key else None
        assert registry.app_key == expected_key


def test_service_resolution_finds_exactly_the_recognisable_members(tmp_path: Path) -> None:
    plan = plan_simulation(
        SimulationOptions(seed=13, duration_s=4 * 3600, start_ms=START_MS, member_share=0.5)
    )
    path = tmp_path / "members.csv"
    write_members_csv(plan.members, path)
    directory = MemberDirectory(parse_members_csv(path.read_text("utf-8")))
    truth = plan.scenario.truth

    recognised = set()
    for emission in plan.scenario.emissions:
        event = emission.event
        if isinstance(event, BeaconSighting) and event.is_app_id:
            member = directory.by_app_id(event.beacon, event.ts_ms)
            if member is not None:
                recognised.add(member.member_id)
    assert recognised == set(truth.member_visit_counts(recognisable_only=True))
    assert recognised < set(truth.member_visits)

    parties = {p.sale_id: p for p in truth.parties if p.sale_id}
    for event in (e.event for e in plan.scenario.emissions if isinstance(e.event, PosSale)):
        party = parties[event.sale_id]
        named = None
        if event.member is not None and event.member.card is not None:
            named = directory.by_card(event.member.card)
        elif event.member is not None and event.member.phone is not None:
            named = directory.by_phone(event.member.phone)
        # Consenting members who identified at the till resolve; nobody else does.
        should = party.member_ref is not None and bool(party.consent)
        assert (named.member_id if named else None) == (party.member_id if should else None)
