"""A bounded property-based fuzz of the whole HTTP API: schemathesis generates requests
(valid and invalid) for every operation of the app's OpenAPI schema and sends them to the
API running on real Redis and Mosquitto with the SQLite time series, as a logged-in
hq_admin and as an assistant. No answer may be a 5xx, and an answer whose status the
schema declares must match the declared body."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Awaitable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app
from api.auth.bootstrap import add_user
from rules.drafts import AlertDraft
from rules.lifecycle.running import alert_delivery
from storesense.backends.state.memory import MemoryState
from storesense.protocol.alerts import Alert, AlertMember
from storesense.registry import members, products, staff
from storesense.settings import Settings
from storesense.stack import RunningStack, running_stack
from tests.api.stacks import real_stack_settings
from tests.servers import Mosquitto, Redis

T = TypeVar("T")

# The schema of the app's own code (routes do not depend on settings or backends).
SCHEMA = schemathesis.openapi.from_dict(create_app(Settings(), MemoryState()).openapi())
OPERATIONS = [
    result.ok() if isinstance(result, Ok) else pytest.fail(str(result.err()))
    for result in SCHEMA.get_all_operations()
]
SKIPPED = {
    # A live stream answers 200 and never ends; its auth and bad input are tested in
    # test_alert_streams.py. The WebSocket (`/api/v1/alerts/ws`) is not in the schema.
    "GET /api/v1/alerts/stream": "live SSE stream: never ends",
}
# Per operation and role; two roles x ~90 operations stay well under two minutes.
# STORESENSE_FUZZ_SCALE=4 runs four times as many, for a deeper search by hand.
SCALE = float(os.environ.get("STORESENSE_FUZZ_SCALE", "1"))
EXAMPLES = {"hq_admin": round(25 * SCALE), "assistant": round(8 * SCALE)}
# The imports' bodies: besides any text, CSVs with the right header and odd cells.
IMPORTS = {
    "POST /api/v1/members/import": members.COLUMNS,
    "POST /api/v1/staff/import": staff.COLUMNS,
    "POST /api/v1/products/import": products.COLUMNS,
}

CHECKS = [not_a_server_error, response_schema_conformance]
PASSWORD = "fuzz-password-0123"
GTIN = "80614141123458"
STORE = {"id": "s1", "name": "Fuzz store", "region": "r1", "timezone": "Europe/Paris",
         "locale": "en", "currency": "EUR", "opening_hours": {"mon": ["10:00-19:00"]}}  # fmt: skip
SEED: list[tuple[str, str, dict[str, Any]]] = [
    ("PUT", "/api/v1/organisation", {"name": "Brand"}),
    ("POST", "/api/v1/regions", {"id": "r1", "name": "Region"}),
    ("POST", "/api/v1/stores", STORE),
    ("POST", "/api/v1/stores/s1/zones", {"id": "entrance", "kind": "entrance", "name": "Door"}),
    ("POST", "/api/v1/stores/s1/zones",
     {"id": "fitting-room-1", "kind": "fitting_room", "name": "F1"}),
    ("POST", "/api/v1/stores/s1/devices", {"id": "pos-1", "kind": "pos", "zone": "entrance"}),
    ("POST", "/api/v1/members", {"member_id": "m1", "name": "Li Na", "tier": "gold",
                                 "consent": True, "card_epcs": ["e2" * 12]}),
    ("POST", "/api/v1/staff", {"staff_id": "a1", "name": "Wang", "role": "assistant",
                               "stores": ["s1"]}),
    ("POST", "/api/v1/products", {"gtin": GTIN, "style": "COAT", "name": "Coat",
                                  "colour": "navy", "size": "M", "price": 99.5}),
    ("POST", "/api/v1/tasks", {"store": "s1", "member_id": "m1", "gtins": [GTIN]}),
]  # fmt: skip


@schemathesis.serializer("text/csv")
def _csv(_context: schemathesis.SerializationContext, value: Any) -> bytes:
    # Lone surrogates go out as they are: the API must answer them with a 4xx.
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


def csv_bodies(columns: tuple[str, ...]) -> st.SearchStrategy[str]:
    cell = st.text(max_size=12) | st.sampled_from(
        ["", "true", "no", GTIN, "e2" * 12, "00" * 16, "zz", "r1", "assistant", "gold",
         "9.5", "-1", "a;b", '"x,y"', "\n", "s1;"]
    )  # fmt: skip
    row = st.lists(cell, min_size=len(columns) - 1, max_size=len(columns) + 1).map(",".join)
    return st.lists(row, max_size=4).map(lambda rows: "\n".join([",".join(columns), *rows]))


@dataclass
class Fuzzed:
    """The running API, the seeded objects' ids and a logged-in client per role."""

    url: str
    known: dict[str, str]
    headers: dict[str, dict[str, str]]
    login: dict[str, str]  # role -> username, for a fresh session


class StackThread:
    """The stack on its own event loop in a thread, so that schemathesis's blocking
    client can call it from the test's thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ready = threading.Event()
        self.stack: RunningStack | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fuzz-stack", daemon=True)

    def __enter__(self) -> RunningStack:
        self._thread.start()
        self.ready.wait(60)
        if self.error is not None:
            raise self.error
        assert self.stack is not None, "the stack did not start within 60 s"
        return self.stack

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def run(self, coroutine: Awaitable[T]) -> T:
        """Run a coroutine on the stack's loop (its state client lives there)."""
        assert self._loop is not None
        future: Future[T] = asyncio.run_coroutine_threadsafe(_wrap(coroutine), self._loop)
        return future.result(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with running_stack(self.settings) as stack:
            self.stack = stack
            self.ready.set()
            await self._stop.wait()


async def _wrap(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def _raise_alerts(stack: RunningStack, count: int) -> list[Alert]:
    """Alerts raised as an ingest worker would (no MQTT needed: the API reads state)."""

    async def publish(_topic: str, _payload: bytes) -> None:
        return None

    raised = []
    async with alert_delivery(stack.settings, stack.state, publish, timers=False) as delivery:
        for n in range(count):
            draft = AlertDraft(
                type="member.arrived", store="s1", ts_ms=int(time.time() * 1000),
                member=AlertMember(id="m1", name="Li Na"), subject=f"m1-{n}",
            )  # fmt: skip
            alert = await delivery.raiser.raise_alert(draft)
            assert alert is not None
            raised.append(alert)
    return raised


def _login(url: str, username: str) -> dict[str, str]:
    answer = requests.post(
        f"{url}/api/v1/auth/login", json={"username": username, "password": PASSWORD}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
def fuzzed(
    tmp_path_factory: pytest.TempPathFactory, mosquitto: Mosquitto, redis_server: Redis
) -> Iterator[Fuzzed]:
    settings = real_stack_settings(tmp_path_factory.mktemp("fuzz"), mosquitto, redis_server)
    runner = StackThread(settings)
    with runner as stack:
        suffix = uuid.uuid4().hex[:6]
        users = {"hq_admin": f"fuzz-admin-{suffix}", "assistant": f"fuzz-assistant-{suffix}"}
        runner.run(add_user(stack.state, users["hq_admin"], name="Fuzz admin",
                            role="hq_admin", password=PASSWORD))  # fmt: skip
        runner.run(add_user(stack.state, users["assistant"], name="Fuzz assistant",
                            role="assistant", stores=["s1"], staff="a1", password=PASSWORD))  # fmt: skip
        # A user the fuzz may change or delete, unlike the two it acts as.
        runner.run(add_user(stack.state, "fuzz-clerk", name="Clerk", role="assistant",
                            stores=["s1"], password=PASSWORD))  # fmt: skip
        headers = {role: _login(stack.api_url, name) for role, name in users.items()}
        task_id = ""
        for method, path, body in SEED:
            answer = requests.request(
                method, stack.api_url + path, json=body, headers=headers["hq_admin"], timeout=30
            )
            assert answer.status_code < 300, (path, answer.text)
            task_id = answer.json().get("id", task_id) if path == "/api/v1/tasks" else task_id
        alerts = runner.run(_raise_alerts(stack, 3))
        known = {
            "store": "s1", "region": "r1", "zone": "fitting-room-1", "device": "pos-1",
            "member_id": "m1", "staff_id": "a1", "gtin": GTIN, "task_id": task_id,
            "alert_id": alerts[0].id, "user_id": "fuzz-clerk",
        }  # fmt: skip
        yield Fuzzed(url=stack.api_url, known=known, headers=headers, login=users)


def _aim(case: Case[Any], known: dict[str, str]) -> None:
    """Point the case at seeded objects, so that handlers get past their 404s."""
    for name in case.path_parameters or {}:
        if name in known:
            case.path_parameters[name] = known[name]
    if case.query and "store" in case.query:
        case.query["store"] = known["store"]


@pytest.mark.parametrize("role", sorted(EXAMPLES))
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_operation_answers_no_5xx_and_what_it_declares(
    operation: Any, role: str, fuzzed: Fuzzed
) -> None:
    if operation.label in SKIPPED:
        pytest.skip(SKIPPED[operation.label])
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    session = requests.Session()
    # Logging out ends the session it is called with: give each call its own.
    fresh_session = operation.label == "POST /api/v1/auth/logout"

    @settings(
        max_examples=EXAMPLES[role],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, aimed=st.booleans(), data=st.data())
    def probe(case: Case[Any], aimed: bool, data: st.DataObject) -> None:
        # Deleting the seeded objects would leave later operations nothing to aim at.
        if aimed and case.method.upper() != "DELETE":
            _aim(case, fuzzed.known)
        if aimed and operation.label in IMPORTS:
            case.body = data.draw(csv_bodies(IMPORTS[operation.label]))
        headers = _login(fuzzed.url, fuzzed.login[role]) if fresh_session else fuzzed.headers[role]
        case.call_and_validate(
            base_url=fuzzed.url,
            session=session,
            headers=headers,
            checks=CHECKS,
            timeout=30,
        )

    with session:
        probe()


def test_every_operation_is_fuzzed_or_skipped_for_a_reason() -> None:
    labels = {operation.label for operation in OPERATIONS}
    assert set(SKIPPED) <= labels
    assert len(labels) > 80  # the whole API, not a schema that lost its routes


def test_the_schema_declares_the_422_answers_routes_give() -> None:
    # What the fuzz checks 422s against: FastAPI's errors or problems naming the field.
    schema = create_app(Settings(), MemoryState()).openapi()
    refs = {
        f"{method.upper()} {path}": operation["responses"]["422"]["content"]["application/json"]
        ["schema"]["$ref"].rsplit("/", 1)[1]
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "422" in operation["responses"]
    }  # fmt: skip
    assert refs.pop("POST /api/v1/stores/{store}/devices/{device}/events") == "EventsRejected"
    assert set(refs.values()) == {"Unprocessable"}
    assert {"PUT /api/v1/stores/{store}/rules", "POST /api/v1/stores"} <= set(refs)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
