"""Run a simulated store against a broker: population, scenario, files, publishing, report."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from simulators.batching import Message, batch_emissions
from simulators.catalog import SimProduct, generate_catalog, write_products_csv
from simulators.population import (
    SimMember,
    SimStaff,
    generate_members,
    generate_staff,
    write_members_csv,
)
from simulators.publisher import BrokerOptions, publish_store
from simulators.scenario import Scenario, ScenarioConfig, build_scenario, run_tag
from simulators.truth import GroundTruth
from storesense.errors import ConfigError, ProtocolError
from storesense.protocol.decode import MAX_BATCH_EVENTS
from storesense.protocol.topics import DEFAULT_ROOT, Topics
from storesense.settings import BrokerSettings

log = logging.getLogger(__name__)

_DEFAULT_BROKER = BrokerSettings().endpoint()  # the embedded broker's default address


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationOptions:
    """Everything one simulation run needs; defaults publish to the embedded broker."""

    host: str = _DEFAULT_BROKER.host
    port: int = _DEFAULT_BROKER.port
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    topic_root: str = DEFAULT_ROOT
    store: str = "demo-store"
    seed: int = 1
    speed: float | None = 60.0  # simulated seconds per real second; 0 or None: flat out
    duration_s: float = 3600.0  # opening hours simulated; the store is empty at the end
    start_ms: int | None = None  # simulated opening time, epoch ms; None: now
    visitors_per_hour: float = 120.0  # arriving parties (a couple is one)
    member_share: float = 0.3  # of parties, led by a loyalty member
    member_count: int = 400
    app_share: float = 0.6  # of members, with the app installed
    consent_share: float = 0.7  # of members, consenting to in-store recognition
    batch_size: int = 1  # events per message, 1-500 (1 sends single objects)
    batch_linger_s: float = 1.0  # simulated seconds a device waits to fill a batch
    early_member_s: float | None = None  # a recognisable member arrives within this
    stock_readers: bool = False  # floor and backroom RFID readers, garments moving all day
    currency: str = "CNY"
    members_csv_out: Path | None = None
    products_csv_out: Path | None = None
    ground_truth_out: Path | None = None

    def __post_init__(self) -> None:
        try:
            Topics(self.topic_root)
        except ProtocolError as exc:
            raise ConfigError(f"topic_root: {exc}") from None
        checks = (
            ("port", 1 <= self.port <= 65535, "must be 1-65535"),
            ("speed", self.speed is None or self.speed >= 0, "must be >= 0 (0 = flat out)"),
            ("member_count", self.member_count >= 0, "must be >= 0"),
            ("batch_size", 1 <= self.batch_size <= MAX_BATCH_EVENTS, "must be 1-500"),
            ("batch_linger_s", self.batch_linger_s >= 0, "must be >= 0"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ConfigError(f"simulation option `{name}` {rule}, got {getattr(self, name)}")
        try:
            # The scenario checks its own fields; any plausible start time will do here.
            self.scenario_config(start_ms=self.start_ms or 1_700_000_000_000)
            for name in ("app_share", "consent_share"):
                value = getattr(self, name)
                if not 0 <= value <= 1:
                    raise ValueError(f"{name} must be between 0 and 1, got {value}")
        except ValueError as exc:
            raise ConfigError(f"simulation option {exc}") from None

    @classmethod
    def demo(cls, **overrides: Any) -> SimulationOptions:
        """A lively store in real time, with a recognisable member arriving within 30 s."""
        preset: dict[str, Any] = {
            "speed": 1.0,
            "duration_s": 4 * 3600.0,
            "visitors_per_hour": 90.0,
            "member_share": 0.4,
            "consent_share": 0.8,
            "early_member_s": 30.0,
        }
        return cls(**(preset | overrides))

    def scenario_config(self, *, start_ms: int) -> ScenarioConfig:
        return ScenarioConfig(
            seed=self.seed,
            start_ms=start_ms,
            duration_s=self.duration_s,
            store=self.store,
            visitors_per_hour=self.visitors_per_hour,
            member_share=self.member_share,
            currency=self.currency,
            early_member_s=self.early_member_s,
            stock_readers=self.stock_readers,
        )

    def with_start(self, start_ms: int) -> SimulationOptions:
        return dataclasses.replace(self, start_ms=start_ms)


@dataclass(frozen=True, slots=True)
class SimulationPlan:
    """Everything a run will publish, computed before anything is sent."""

    options: SimulationOptions
    start_ms: int
    run: str
    members: list[SimMember]
    catalog: list[SimProduct]
    staff: list[SimStaff]
    scenario: Scenario
    messages: list[Message]


@dataclass(frozen=True, slots=True)
class SimulationReport:
    store: str
    seed: int
    run: str  # the tag in every event id of this run
    start_ms: int
    end_ms: int
    messages: int
    events: int
    status_messages: int
    events_by_device: dict[str, int]
    elapsed_s: float
    truth: GroundTruth


def broker_fields_from_url(url: str) -> dict[str, Any]:
    """SimulationOptions broker fields for a URL like the service's `broker.url`."""
    try:
        endpoint = BrokerSettings(url=url).endpoint()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"broker url: {exc}") from None
    return {
        "host": endpoint.host,
        "port": endpoint.port,
        "username": endpoint.username,
        "password": endpoint.password,
        "tls": endpoint.tls,
    }


def plan_simulation(options: SimulationOptions, *, now_ms: int | None = None) -> SimulationPlan:
    """Build the population, the scenario and the messages; pure apart from reading the clock
    when neither `options.start_ms` nor `now_ms` is given."""
    start_ms = options.start_ms
    if start_ms is None:
        start_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    members = generate_members(
        options.seed,
        options.member_count,
        app_share=options.app_share,
        consent_share=options.consent_share,
    )
    catalog = generate_catalog(options.seed)
    staff = generate_staff(options.seed)
    try:
        scenario = build_scenario(
            options.scenario_config(start_ms=start_ms),
            members=members,
            catalog=catalog,
            staff=staff,
        )
    except ValueError as exc:
        raise ConfigError(f"simulation: {exc}") from None
    messages = batch_emissions(
        scenario.emissions,
        batch_size=options.batch_size,
        linger_ms=int(options.batch_linger_s * 1000),
    )
    return SimulationPlan(
        options=options,
        start_ms=start_ms,
        run=run_tag(options.seed, options.store, start_ms),
        members=members,
        catalog=catalog,
        staff=staff,
        scenario=scenario,
        messages=messages,
    )


async def run_simulation(
    options: SimulationOptions, plan: SimulationPlan | None = None
) -> SimulationReport:
    """Simulate the store and publish it to the broker; return counts and the ground truth.
    `plan`: one already built from these options (e.g. a later day of `days.plan_days`)."""
    plan = plan or plan_simulation(options)
    truth = plan.scenario.truth
    write_outputs(plan)
    log.info(
        "sim.plan store=%s seed=%d run=%s visits=%d events=%d messages=%d",
        options.store,
        options.seed,
        plan.run,
        truth.visits,
        truth.events,
        len(plan.messages),
    )
    began = time.monotonic()
    counts = await publish_store(
        plan.messages,
        broker=BrokerOptions(
            host=options.host,
            port=options.port,
            username=options.username,
            password=options.password,
            tls=options.tls,
            ca_file=options.ca_file,
        ),
        topics=Topics(options.topic_root),
        store=options.store,
        devices=plan.scenario.devices,
        start_ms=plan.start_ms,
        end_ms=truth.end_ms,
        speed=options.speed,
        run=plan.run,
    )
    return SimulationReport(
        store=options.store,
        seed=options.seed,
        run=plan.run,
        start_ms=plan.start_ms,
        end_ms=truth.end_ms,
        messages=counts.messages,
        events=counts.events,
        status_messages=counts.status_messages,
        events_by_device=counts.events_by_device,
        elapsed_s=round(time.monotonic() - began, 3),
        truth=truth,
    )


def write_outputs(plan: SimulationPlan) -> None:
    """Write the member CSV, product CSV and ground-truth JSON the options ask for."""
    options = plan.options
    if options.members_csv_out is not None:
        write_members_csv(plan.members, options.members_csv_out)
    if options.products_csv_out is not None:
        write_products_csv(plan.catalog, options.products_csv_out)
    if options.ground_truth_out is not None:
        truth = msgspec.json.format(msgspec.json.encode(plan.scenario.truth), indent=2)
        options.ground_truth_out.write_bytes(truth + b"\n")
