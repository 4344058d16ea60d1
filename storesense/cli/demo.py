"""`storesense demo`: the whole stack plus a simulated store and its members, with live
alerts printed here and shown in the browser."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

import aiomqtt

from api.auth.bootstrap import demo_users
from simulators.population import write_members_csv
from simulators.run import SimulationOptions, plan_simulation, run_simulation
from storesense.cli.serve import stop_event
from storesense.cli.simulate import add_simulation_options, simulation_overrides
from storesense.mqtt import client_id, mqtt_client
from storesense.protocol.alerts import decode_alert
from storesense.protocol.topics import Topics
from storesense.registry import stored
from storesense.registry.members import parse_members_csv
from storesense.settings import Settings
from storesense.stack import RunningStack, running_stack

log = logging.getLogger(__name__)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "demo",
        help="serve + a simulated store and demo members; prints the URL to watch",
        description=(
            "Start the whole stack on the configured backends (embedded by default), load "
            "the simulated store's members, and run the simulator in real time. A "
            "recognisable member arrives within about 30 s; every alert is printed here and "
            "shown live on the web page. Stop with Ctrl-C."
        ),
    )
    add_simulation_options(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(demo(args, settings))
    return 0


async def demo(args: argparse.Namespace, settings: Settings) -> None:
    options = SimulationOptions.demo(**simulation_overrides(args, settings))
    plan = plan_simulation(options)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    members_csv = settings.data_dir / "demo-members.csv"
    write_members_csv(plan.members, members_csv)
    stop = stop_event()
    async with running_stack(settings) as stack:
        members = parse_members_csv(members_csv.read_text(encoding="utf-8"), str(members_csv))
        await stored.save(stack.state, members)
        staff = plan.staff[0].staff_id if plan.staff else None
        password = await demo_users(stack.state, options.store, staff)
        print(
            f"storesense demo: store {options.store!r}, {len(members)} members loaded "
            f"from {members_csv}\n"
            f"  live alerts:  {stack.api_url}/\n"
            f"  sign in:      admin (HQ), manager, assistant; password: {password}\n"
            f"  API docs:     {stack.api_url}/docs\n"
            f"  MQTT broker:  {options.host}:{options.port} "
            f"(alerts on {Topics(settings.topic_root).alerts(options.store)})\n"
            "Waiting for the first member to walk in (Ctrl-C stops)…",
            flush=True,
        )
        async with asyncio.TaskGroup() as group:
            printer = group.create_task(_print_alerts(stack))
            simulation = group.create_task(run_simulation(options.with_start(plan.start_ms)))
            await stop.wait()
            for task in (printer, simulation):
                task.cancel()


async def _print_alerts(stack: RunningStack) -> None:
    """Show alerts as an in-store handheld would get them: from the MQTT alerts topic."""
    settings = stack.settings
    topics = Topics(settings.topic_root)
    while True:
        with contextlib.suppress(aiomqtt.MqttError):
            async with mqtt_client(settings.broker.endpoint(), client_id(settings, "demo")) as c:
                await c.subscribe(topics.all_alerts(), qos=1)
                async for message in c.messages:
                    if isinstance(message.payload, bytes):
                        alert = decode_alert(message.payload)
                        print(f"[{alert.type}] {alert.title} — {alert.body}", flush=True)
        await asyncio.sleep(1)
