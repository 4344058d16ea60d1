"""Registry imports over HTTP, as `storesense … import` sends them to a running server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from storesense.registry import stored
from storesense.registry.products import Product
from storesense.registry.staff import StaffMember
from storesense.stack import RunningStack, running_stack
from tests.api.auth_helpers import admin_headers
from tests.e2e.helpers import stack_settings


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[RunningStack]:
    async with running_stack(stack_settings(tmp_path)) as running:
        yield running


async def test_staff_and_products_import_and_errors_are_listed(stack: RunningStack) -> None:
    staff_csv = (
        "staff_id,name,role,badge_epcs,beacons\ns1,Wang Wei,assistant,e2a00000000000000000000a,\n"
    )
    products_csv = "gtin,style,name,colour,size,price\n80614141123458,COAT,Coat,navy,M,99\n"
    headers = await admin_headers(stack.state)
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers) as client:
        staff = await client.post("/api/v1/staff/import", content=staff_csv)
        products = await client.post("/api/v1/products/import", content=products_csv)
        empty = await client.post(
            "/api/v1/products/import", content="gtin,style,name,colour,size,price\n"
        )
        bad = await client.post("/api/v1/products/import", content=products_csv + "125,,X,,,\n")
        binary = await client.post("/api/v1/products/import", content=b"\xff\xfe")
    assert staff.json() == {"imported": 1, "registry_version": 1}
    assert products.json() == {"imported": 1, "registry_version": 1}
    assert empty.status_code == 422 and "no rows" in empty.text
    assert bad.status_code == 422
    assert [p.split(":")[0] for p in bad.json()["detail"]["problems"]] == [
        "line 3, column `gtin`", "line 3, column `style`",
    ]  # fmt: skip
    assert binary.status_code == 400 and "UTF-8" in binary.text
    [person] = await stored.load(stack.state, StaffMember)
    [product] = await stored.load(stack.state, Product)
    assert person.badge_epcs == ("e2a00000000000000000000a",) and product.style == "COAT"


async def test_a_csv_the_csv_module_cannot_read_is_422_not_500(stack: RunningStack) -> None:
    header = "gtin,style,name,colour,size,price\n"
    headers = await admin_headers(stack.state)
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers) as client:
        carriage = await client.post(
            "/api/v1/products/import", content=header + "\n\xa0,0\r\xe7\r,ps,6,gold"
        )  # found by the API fuzz: a bare \r in a cell was a 500
        huge = await client.post("/api/v1/products/import", content=header + "1," + "x" * 200_000)
    assert carriage.status_code == 422 and "line " in carriage.text
    assert huge.status_code == 422
    assert huge.json()["detail"]["problems"][0].startswith("line 2: field larger than field limit")
