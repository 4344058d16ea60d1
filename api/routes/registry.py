"""Members, staff and products over HTTP: CRUD by id, the CSV imports of `storesense
members|staff|products import` (all or nothing) and exports in the same CSV, or JSON."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel

from api.auth.guard import CurrentPrincipal
from api.auth.members import redact
from api.auth.roles import MANAGERS, Principal
from api.context import ApiContext, get_context
from api.defs.registry import (
    ExportFormat,
    MemberBody,
    MemberOut,
    MemberPage,
    NewMember,
    NewProduct,
    NewStaff,
    ProductBody,
    ProductOut,
    ProductPage,
    StaffBody,
    StaffOut,
    StaffPage,
    StoreShifts,
    StoreStaff,
    StoreStaffMember,
    normalise_gtin,
)
from storesense.protocol.identifiers import IDENTIFIER_PATTERN
from storesense.registry import export, members, products, staff, stored
from storesense.registry.csvfile import ImportProblems
from storesense.registry.members import Member
from storesense.registry.products import Product
from storesense.registry.staff import StaffMember
from storesense.registry.stores import store_timezone
from storesense.settings import WEEKDAYS

router = APIRouter(prefix="/api/v1", tags=["registry"])

MAX_CSV_BYTES = 200 * 1024 * 1024
R = TypeVar("R", Member, StaffMember, Product)
Context = Annotated[ApiContext, Depends(get_context)]
RecordId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
Limit = Annotated[int, Query(ge=1, le=10_000)]
After = Annotated[str | None, Query(max_length=64, description="last id of the previous page")]
Format = Annotated[ExportFormat, Query(description="csv (the import format) or json")]
_MISSING: dict[int | str, dict[str, Any]] = {404: {"description": "unknown id"}}
_TAKEN: dict[int | str, dict[str, Any]] = {409: {"description": "the id exists already"}}
# The imports read the raw body; declared so that /docs and API clients know what to send.
_CSV_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
}


class ImportResult(BaseModel):
    imported: int
    registry_version: int
    consenting: int | None = None  # members only


# -- imports ---------------------------------------------------------------------------------


async def _csv_text(request: Request) -> str:
    body = await request.body()
    if len(body) > MAX_CSV_BYTES:
        raise HTTPException(413, f"CSV is {len(body)} bytes; the limit is {MAX_CSV_BYTES}")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"CSV must be UTF-8: {exc}") from None


async def _import(
    request: Request, context: ApiContext, parse: Callable[[str, str], Sequence[Any]]
) -> tuple[Sequence[Any], int]:
    """Parse the body whole (422 listing every problem), then save: all or nothing."""
    try:
        records = parse(await _csv_text(request), "request body")
    except ImportProblems as exc:
        raise HTTPException(
            422, {"message": str(exc).splitlines()[0], "problems": exc.problems}
        ) from None
    if not records:
        raise HTTPException(422, "the CSV has a header but no rows")
    return records, await stored.save(context.state, list(records))


@router.post(
    "/members/import",
    openapi_extra=_CSV_BODY,
    summary="Import members from CSV (insert or replace by member_id); all or nothing",
    description="text/csv with columns " + ",".join(members.COLUMNS),
    response_model=ImportResult,
)
async def import_members(request: Request, context: Context) -> ImportResult:
    records, version = await _import(request, context, members.parse_members_csv)
    consenting = sum(member.consent for member in records)
    return ImportResult(imported=len(records), consenting=consenting, registry_version=version)


@router.post(
    "/staff/import",
    openapi_extra=_CSV_BODY,
    summary="Import staff and their badges from CSV (by staff_id); all or nothing",
    description="text/csv with columns " + ",".join(staff.COLUMNS)
    + "; stores and shifts set over the API are kept",
    response_model=ImportResult,
    response_model_exclude_none=True,
)  # fmt: skip
async def import_staff(request: Request, context: Context) -> ImportResult:
    known = {s.staff_id: s for s in await stored.load(context.state, StaffMember)}
    records, version = await _import(request, context, partial(_parse_staff, known=known))
    return ImportResult(imported=len(records), registry_version=version)


def _parse_staff(text: str, source: str, *, known: dict[str, StaffMember]) -> list[StaffMember]:
    return [
        msgspec.structs.replace(s, stores=old.stores, shifts=old.shifts)
        if (old := known.get(s.staff_id)) is not None
        else s
        for s in staff.parse_staff_csv(text, source)
    ]


@router.post(
    "/products/import",
    openapi_extra=_CSV_BODY,
    summary="Import the product catalog from CSV (by GTIN); all or nothing",
    description="text/csv with columns " + ",".join(products.COLUMNS),
    response_model=ImportResult,
    response_model_exclude_none=True,
)
async def import_products(request: Request, context: Context) -> ImportResult:
    records, version = await _import(request, context, products.parse_products_csv)
    return ImportResult(imported=len(records), registry_version=version)


# -- exports and pages -----------------------------------------------------------------------


async def _sorted(context: ApiContext, model: type[R]) -> list[R]:
    return sorted(await stored.load(context.state, model), key=stored.record_id)


def _page(records: list[R], limit: int, after: str | None) -> tuple[list[R], str | None]:
    chosen = [r for r in records if after is None or stored.record_id(r) > after][:limit]
    more = len(chosen) == limit and stored.record_id(chosen[-1]) != stored.record_id(records[-1])
    return chosen, stored.record_id(chosen[-1]) if more else None


def _export(records: list[R], kind: str, fmt: ExportFormat) -> Response:
    if fmt == "csv":
        return Response(
            export.to_csv(records, kind),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
        )
    return Response(msgspec.json.encode({kind: records}), media_type="application/json")


_EXPORT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, "application/json": {}}}
}


@router.get(
    "/members/export", response_class=Response, responses=_EXPORT,
    summary="Every member in the import CSV format (app keys included), or JSON",
)  # fmt: skip
async def export_members(context: Context, format: Format = "csv") -> Response:
    return _export(await _sorted(context, Member), "members", format)


@router.get("/staff/export", response_class=Response, responses=_EXPORT)
async def export_staff(context: Context, format: Format = "csv") -> Response:
    return _export(await _sorted(context, StaffMember), "staff", format)


@router.get("/products/export", response_class=Response, responses=_EXPORT)
async def export_products(context: Context, format: Format = "csv") -> Response:
    return _export(await _sorted(context, Product), "products", format)


# -- members ---------------------------------------------------------------------------------


@router.get("/members", response_model=MemberPage, summary="Members by id, a page at a time")
async def list_members(context: Context, limit: Limit = 100, after: After = None) -> MemberPage:
    records = await _sorted(context, Member)
    page, next_after = _page(records, limit, after)
    return MemberPage(
        total=len(records), next_after=next_after, members=[MemberOut.of(m) for m in page]
    )


@router.post("/members", response_model=MemberOut, status_code=201, responses=_TAKEN)
async def create_member(body: NewMember, context: Context) -> MemberOut:
    await _absent(context, Member, body.member_id, "member_id")
    record = body.record(body.member_id)
    await stored.save(context.state, [record])
    return MemberOut.of(record)


@router.get(
    "/members/{member_id}", response_model=MemberOut, responses=_MISSING,
    summary="A member's profile: HQ any, others a member in their store now (audited); "
    "the phone only for hq_admin and store managers",
)  # fmt: skip
async def get_member(
    member_id: RecordId,
    context: Context,
    principal: CurrentPrincipal,
    store: Annotated[
        str | None, Query(pattern=IDENTIFIER_PATTERN, description="the store serving them")
    ] = None,
) -> MemberOut:
    # The guard has checked access and written the audit entry (api/auth/members.py).
    return redact(MemberOut.of(await _present(context, Member, member_id)), principal)


@router.put(
    "/members/{member_id}", response_model=MemberOut, responses=_MISSING,
    summary="Replace a member; an `app_key` left out keeps the current one",
)  # fmt: skip
async def replace_member(member_id: RecordId, body: MemberBody, context: Context) -> MemberOut:
    old = await _present(context, Member, member_id)
    record = body.record(member_id)
    if body.app_key is None and "app_key" not in body.model_fields_set:
        record = msgspec.structs.replace(record, app_key=old.app_key)
    await stored.save(context.state, [record])
    return MemberOut.of(record)


@router.delete("/members/{member_id}", status_code=204, responses=_MISSING)
async def delete_member(member_id: RecordId, context: Context) -> Response:
    return await _delete(context, Member, member_id)


# -- staff -----------------------------------------------------------------------------------


@router.get("/staff", response_model=StaffPage)
async def list_staff(
    context: Context, principal: CurrentPrincipal, limit: Limit = 100, after: After = None
) -> StaffPage:
    records = [s for s in await _sorted(context, StaffMember) if _works_for(principal, s)]
    page, next_after = _page(records, limit, after)
    return StaffPage(
        total=len(records), next_after=next_after, staff=[StaffOut.of(s) for s in page]
    )


@router.post("/staff", response_model=StaffOut, status_code=201, responses=_TAKEN)
async def create_staff(body: NewStaff, context: Context) -> StaffOut:
    await _absent(context, StaffMember, body.staff_id, "staff_id")
    record = body.record(body.staff_id)
    await stored.save(context.state, [record])
    return StaffOut.of(record)


@router.get("/staff/{staff_id}", response_model=StaffOut, responses=_MISSING)
async def get_staff(staff_id: RecordId, context: Context, principal: CurrentPrincipal) -> StaffOut:
    person = await _present(context, StaffMember, staff_id)
    if not _works_for(principal, person):
        raise HTTPException(404, f"no staff_id {staff_id!r}")
    return StaffOut.of(person)


def _works_for(principal: Principal, person: StaffMember) -> bool:
    """Whether the staff member works in a store the principal sees (HQ: everyone)."""
    return principal.everywhere or any(principal.may_see(store) for store in person.stores)


@router.put("/staff/{staff_id}", response_model=StaffOut, responses=_MISSING)
async def replace_staff(staff_id: RecordId, body: StaffBody, context: Context) -> StaffOut:
    await _present(context, StaffMember, staff_id)
    record = body.record(staff_id)
    await stored.save(context.state, [record])
    return StaffOut.of(record)


@router.delete("/staff/{staff_id}", status_code=204, responses=_MISSING)
async def delete_staff(staff_id: RecordId, context: Context) -> Response:
    return await _delete(context, StaffMember, staff_id)


# -- a store's staff and shifts (the manager's Staff view) ----------------------------------

StoreId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]
# Who sees badge EPCs and beacons (a badge read is how the service tells staff from
# customers): managers and integrations; assistants see names, roles and shifts.
BADGE_READERS = MANAGERS | {"integration"}


def _works_in(person: StaffMember, store: str) -> bool:
    return store in person.stores or any(shift.store == store for shift in person.shifts)


async def _store_now(context: ApiContext, store: str) -> tuple[str, datetime]:
    name = await store_timezone(context.state, store, context.settings)
    try:
        return name, datetime.now(ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC", datetime.now(UTC)


@router.get(
    "/stores/{store}/staff", response_model=StoreStaff,
    summary="A store's staff (working there or with a shift there), their shifts in it and "
    "who is on shift now; badges for managers and integrations only",
)  # fmt: skip
async def store_staff(store: StoreId, context: Context, principal: CurrentPrincipal) -> StoreStaff:
    timezone, now = await _store_now(context, store)
    badges = principal.role in BADGE_READERS
    return StoreStaff(
        store=store, timezone=timezone, local_time=now.isoformat(timespec="seconds"),
        weekday=WEEKDAYS[now.weekday()],
        staff=[
            StoreStaffMember.of(person, store, now=now, badges=badges)
            for person in await _sorted(context, StaffMember)
            if _works_in(person, store)
        ],
    )  # fmt: skip


@router.put(
    "/stores/{store}/staff/{staff_id}/shifts", response_model=StoreStaffMember,
    responses={404: {"description": "unknown staff_id, or not working in this store"}},
    summary="Replace a person's shifts in this store (their shifts elsewhere are kept); "
    "managers of the store",
)  # fmt: skip
async def replace_store_shifts(
    store: StoreId, staff_id: RecordId, body: StoreShifts, context: Context,
    principal: CurrentPrincipal,
) -> StoreStaffMember:  # fmt: skip
    person = await stored.load_one(context.state, StaffMember, staff_id)
    if person is None or not _works_in(person, store):
        raise HTTPException(404, f"no staff_id {staff_id!r} in store {store!r}")
    kept = tuple(shift for shift in person.shifts if shift.store != store)
    record = msgspec.structs.replace(
        person, shifts=kept + tuple(shift.record(store) for shift in body.shifts)
    )
    await stored.save(context.state, [record])
    _, now = await _store_now(context, store)
    return StoreStaffMember.of(record, store, now=now, badges=principal.role in BADGE_READERS)


# -- products --------------------------------------------------------------------------------


@router.get("/products", response_model=ProductPage)
async def list_products(context: Context, limit: Limit = 100, after: After = None) -> ProductPage:
    records = await _sorted(context, Product)
    page, next_after = _page(records, limit, after)
    return ProductPage(
        total=len(records), next_after=next_after, products=[ProductOut.of(p) for p in page]
    )


@router.post("/products", response_model=ProductOut, status_code=201, responses=_TAKEN)
async def create_product(body: NewProduct, context: Context) -> ProductOut:
    await _absent(context, Product, body.gtin, "gtin")
    record = body.record(body.gtin)
    await stored.save(context.state, [record])
    return ProductOut.of(record)


@router.get("/products/{gtin}", response_model=ProductOut, responses=_MISSING)
async def get_product(gtin: str, context: Context) -> ProductOut:
    return ProductOut.of(await _present(context, Product, _gtin(gtin)))


@router.put("/products/{gtin}", response_model=ProductOut, responses=_MISSING)
async def replace_product(gtin: str, body: ProductBody, context: Context) -> ProductOut:
    key = _gtin(gtin)
    await _present(context, Product, key)
    record = body.record(key)
    await stored.save(context.state, [record])
    return ProductOut.of(record)


@router.delete("/products/{gtin}", status_code=204, responses=_MISSING)
async def delete_product(gtin: str, context: Context) -> Response:
    return await _delete(context, Product, _gtin(gtin))


# -- helpers ---------------------------------------------------------------------------------


def _gtin(value: str) -> str:
    try:
        return normalise_gtin(value)
    except ValueError as exc:
        raise HTTPException(422, {"field": "gtin", "message": str(exc)}) from None


async def _present(context: ApiContext, model: type[R], key: str) -> R:
    found = await stored.load_one(context.state, model, key)
    if found is None:
        raise HTTPException(404, f"no {stored.KINDS[model]} record {key!r}")
    return found


async def _absent(context: ApiContext, model: type[R], key: str, field: str) -> None:
    if await stored.load_one(context.state, model, key) is not None:
        raise HTTPException(409, {"field": field, "message": f"{field} {key!r} exists already"})


async def _delete(context: ApiContext, model: type[R], key: str) -> Response:
    if not await stored.delete(context.state, model, key):
        raise HTTPException(404, f"no {stored.KINDS[model]} record {key!r}")
    return Response(status_code=204)
