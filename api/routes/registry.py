"""Registry imports over HTTP: the CSVs of `storesense members|staff|products import`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from api.context import ApiContext, get_context
from storesense.registry import members, products, staff, stored
from storesense.registry.csvfile import ImportProblems

router = APIRouter(prefix="/api/v1", tags=["registry"])

MAX_CSV_BYTES = 200 * 1024 * 1024


class ImportResult(BaseModel):
    imported: int
    registry_version: int
    consenting: int | None = None  # members only


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
    summary="Import members from CSV (insert or replace by member_id); all or nothing",
    description="text/csv with columns " + ",".join(members.COLUMNS),
    response_model=ImportResult,
)
async def import_members(
    request: Request, context: Annotated[ApiContext, Depends(get_context)]
) -> ImportResult:
    records, version = await _import(request, context, members.parse_members_csv)
    consenting = sum(member.consent for member in records)
    return ImportResult(imported=len(records), consenting=consenting, registry_version=version)


@router.post(
    "/staff/import",
    summary="Import staff and their badges from CSV (by staff_id); all or nothing",
    description="text/csv with columns " + ",".join(staff.COLUMNS),
    response_model=ImportResult,
    response_model_exclude_none=True,
)
async def import_staff(
    request: Request, context: Annotated[ApiContext, Depends(get_context)]
) -> ImportResult:
    records, version = await _import(request, context, staff.parse_staff_csv)
    return ImportResult(imported=len(records), registry_version=version)


@router.post(
    "/products/import",
    summary="Import the product catalog from CSV (by GTIN); all or nothing",
    description="text/csv with columns " + ",".join(products.COLUMNS),
    response_model=ImportResult,
    response_model_exclude_none=True,
)
async def import_products(
    request: Request, context: Annotated[ApiContext, Depends(get_context)]
) -> ImportResult:
    records, version = await _import(request, context, products.parse_products_csv)
    return ImportResult(imported=len(records), registry_version=version)
