"""Member registry import (the CSV of `storesense members import`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from api.context import ApiContext, get_context
from storesense.registry import stored
from storesense.registry.members import COLUMNS, MemberImportError, parse_members_csv

router = APIRouter(prefix="/api/v1/members", tags=["members"])

MAX_CSV_BYTES = 200 * 1024 * 1024


class ImportResult(BaseModel):
    imported: int
    consenting: int
    registry_version: int


@router.post(
    "/import",
    summary="Import members from CSV (insert or replace by member_id)",
    description="Body: text/csv with columns " + ",".join(COLUMNS) + ". All or nothing.",
    response_model=ImportResult,
)
async def import_members(
    request: Request, context: Annotated[ApiContext, Depends(get_context)]
) -> ImportResult:
    body = await request.body()
    if len(body) > MAX_CSV_BYTES:
        raise HTTPException(413, f"CSV is {len(body)} bytes; the limit is {MAX_CSV_BYTES}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"CSV must be UTF-8: {exc}") from None
    try:
        members = parse_members_csv(text, source="request body")
    except MemberImportError as exc:
        raise HTTPException(
            422, {"message": str(exc).splitlines()[0], "problems": exc.problems}
        ) from None
    version = await stored.save(context.state, members)
    return ImportResult(
        imported=len(members),
        consenting=sum(member.consent for member in members),
        registry_version=version,
    )
