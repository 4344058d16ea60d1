"""Registry models and pure helpers: validation that names the field, Mosquitto hashes and
files, follow-up tasks' transitions, texts and the facts they are built from."""

from __future__ import annotations

import base64
import hashlib

import msgspec
import pytest
from pydantic import ValidationError

from rules.followups import model, texts
from rules.followups.follower import sales_by_member, tried_not_bought
from rules.readmodel import MemberHistory
from storesense.backends.timeseries.base import Point
from storesense.registry import mosquitto
from storesense.registry.devices import Device, hash_password, verify_password
from storesense.registry.organisation import Store


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "IANA timezone"),
        ("currency", "RMB", "ISO 4217"),
        ("locale", "fr", "'en' or 'zh-CN'"),
        ("opening_hours", {"mon": ["22:00-10:00"]}, "ends before it starts"),
        ("opening_hours", {"mon": ["9-17"]}, "HH:MM-HH:MM"),
        ("opening_hours", {"someday": ["09:00-17:00"]}, "someday"),
    ],
)
def test_bad_store_fields_are_named(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Store.model_validate({"id": "s1", "name": "S", field: value})
    [error] = caught.value.errors()
    assert error["loc"][0] == field and message in str(caught.value)


def test_a_valid_store() -> None:
    store = Store(
        id="sh-1", name="Shanghai", timezone="Asia/Shanghai", locale="zh-CN", currency="CNY",
        opening_hours={"sat": ["10:00-14:00", "15:00-24:00"]},
    )  # fmt: skip
    assert store.opening_hours["sat"][1] == "15:00-24:00"


def test_password_hash_is_mosquittos_pbkdf2_sha512_format() -> None:
    hashed = hash_password("secret", salt=b"0123456789ab", iterations=101)
    _, kind, iterations, salt, digest = hashed.split("$")
    expected = hashlib.pbkdf2_hmac("sha512", b"secret", b"0123456789ab", 101)
    assert (kind, iterations, base64.b64decode(salt)) == ("7", "101", b"0123456789ab")
    assert base64.b64decode(digest) == expected
    assert verify_password("secret", hashed) and not verify_password("Secret", hashed)


def test_acl_lets_a_device_use_only_its_own_topics() -> None:
    device = Device(
        id="d1", store="s1", kind="rfid", username="s1.d1", password_hash="$7$1$a$b", issued_ms=1
    )
    assert mosquitto.password_file([device]) == "s1.d1:$7$1$a$b\n"
    acl = mosquitto.acl_file([device], "storesense", ["service"])
    assert "user service\ntopic readwrite storesense/#" in acl
    assert (
        "user s1.d1\ntopic write storesense/v1/s1/d1/events\n"
        "topic readwrite storesense/v1/s1/d1/status\ntopic read storesense/v1/s1/d1/config"
    ) in acl


def _task(**changes: object) -> model.FollowupTask:
    base = model.FollowupTask(
        id="00000000000010000000a", store="s1", member_id="m1", member_name="Li Na",
        created_ms=1_000, created_by="api", source="user", window_days=2, title="t", body="b",
    )  # fmt: skip
    return msgspec.structs.replace(base, **changes)


def test_task_completion_and_its_refusals() -> None:
    done = model.complete(_task(), "s9", "contacted", None, 2_000)
    assert isinstance(done, model.FollowupTask) and done.state == "done" and done.version == 2
    assert model.complete(done, "s9", "contacted", None, 3_000) is done  # a repeat
    assert isinstance(model.complete(done, "s8", "purchased", None, 3_000), model.Refused)
    other = model.complete(_task(assignee="s1"), "s2", "contacted", None, 2_000)
    assert isinstance(other, model.Refused) and other.reason == "other_staff"


def test_a_sale_is_attributed_once_and_only_within_the_window() -> None:
    sale = model.Attribution(sale_id="x", ts_ms=1_000 + model.DAY_MS, amount=10.0, items=1)
    attributed = model.attribute(_task(), sale)
    assert attributed is not None and attributed.attributed == sale
    assert model.attribute(attributed, sale) is None
    late = model.Attribution(sale_id="y", ts_ms=1_001 + 2 * model.DAY_MS, amount=1.0, items=1)
    assert model.attribute(_task(), late) is None
    assert model.attribute(_task(state="cancelled"), sale) is None


def test_texts_in_both_locales() -> None:
    items = (model.TaskItem(gtin="1", name="coat", colour="navy", size="M", in_stock=True),)
    assert texts.render("Ms Li", items, None, "en") == (
        "Follow up: Ms Li", "Ms Li tried the navy coat in M; it is back in stock.",
    )  # fmt: skip
    title, body = texts.render("李女士", items, None, "zh-CN")
    assert title == "跟进：李女士" and "navycoat（M码）" in body and "现已有货" in body


def test_tried_not_bought_keeps_the_visits_unsold_garments() -> None:
    history = MemberHistory(
        visits=[100],
        items=[(50, "g0", "t"), (110, "g1", "t"), (120, "g2", "t"), (130, "g2", "b")],
    )
    assert tried_not_bought(history, 100, 200) == ["g1"]


def test_sales_are_summed_per_member_sale() -> None:
    def item(sale: str, qty: int, price: float, member: str | None) -> Point:
        fields: dict[str, str | int | float] = {"sale_id": sale, "qty": qty, "price": price}
        if member:
            fields["member_id"] = member
        return Point("sale_item", {"store": "s1", "gtin": "g"}, fields, 5_000_000_000)

    sales = sales_by_member(
        [item("a", 2, 10.0, "m1"), item("a", 1, 5.5, "m1"), item("b", 1, 1, None)]
    )
    assert sales == [("s1", "m1", model.Attribution(sale_id="a", ts_ms=5000, amount=25.5, items=3))]
