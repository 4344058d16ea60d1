"""Follow-up tasks over the API: create (a store user; rules create their own), list, get,
complete with an outcome, cancel. A task is announced as a `followup.task` alert on every
alert channel; a purchase by the member within the window is attributed to it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from api.auth.guard import CurrentPrincipal, require_store
from api.auth.roles import Principal
from api.context import ApiContext, get_context
from api.defs.registry import normalise_gtin
from api.defs.tasks import CompleteTask, NewTask, TaskList, TaskOut
from rules.followups.model import TaskState
from rules.followups.service import FollowupError, FollowupService, TaskRequest
from storesense.protocol.identifiers import IDENTIFIER_PATTERN
from storesense.registry.stores import store_locale, stores

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

Context = Annotated[ApiContext, Depends(get_context)]
TaskId = Annotated[str, Path(pattern=r"^[0-9a-f]{21}$")]
_MISSING: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown task, store, member or product"}
}


def get_followups(request: Request) -> FollowupService:
    """The app's service (set while it runs, with delivery); without it, one that stores
    tasks and announces nothing (an app built without its lifespan, in tests)."""
    service: FollowupService | None = getattr(request.app.state, "followups", None)
    if service is None:
        context: ApiContext = request.app.state.context
        service = FollowupService(
            context.state, lambda store: store_locale(context.state, store, context.settings)
        )
    return service


Followups = Annotated[FollowupService, Depends(get_followups)]


async def _known_store(context: ApiContext, store: str) -> bool:
    """In the registry, in the settings, or with devices reporting (a store nobody has
    registered yet, as in the demo)."""
    if store in context.settings.stores or await stores(context.state).get(store) is not None:
        return True
    return bool(await context.state.devices(store))


def _http(exc: FollowupError) -> HTTPException:
    detail = {"field": exc.field, "message": str(exc)} if exc.field else str(exc)
    return HTTPException(exc.status, detail)


@router.post(
    "", response_model=TaskOut, status_code=201, responses=_MISSING,
    summary="Create a follow-up task for a member (delivered like an alert)",
)  # fmt: skip
async def create_task(
    body: NewTask, context: Context, followups: Followups, principal: CurrentPrincipal
) -> TaskOut:
    require_store(principal, body.store)
    if not await _known_store(context, body.store):
        raise HTTPException(404, {"field": "store", "message": f"no store {body.store!r}"})
    try:
        gtins = [normalise_gtin(gtin) for gtin in body.gtins]
    except ValueError as exc:
        raise HTTPException(422, {"field": "gtins", "message": str(exc)}) from None
    request = TaskRequest(
        store=body.store, member_id=body.member_id, created_by=body.created_by, source="user",
        gtins=gtins, note=body.note, assignee=body.assignee,
        window_days=body.window_days or context.settings.followups.window_days,
    )  # fmt: skip
    try:
        return TaskOut.of(await followups.create(request))
    except FollowupError as exc:
        raise _http(exc) from None


@router.get("", response_model=TaskList, summary="A store's tasks, newest first")
async def list_tasks(
    followups: Followups,
    store: Annotated[str, Query(pattern=IDENTIFIER_PATTERN)],
    state: TaskState | None = None,
    assignee: Annotated[str | None, Query(max_length=64, description="theirs and anyone's")] = None,
    member_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TaskList:
    found = await followups.find(store, state=state, assignee=assignee, member_id=member_id)
    return TaskList(tasks=[TaskOut.of(task) for task in found[:limit]])


@router.get("/{task_id}", response_model=TaskOut, responses=_MISSING)
async def get_task(task_id: TaskId, followups: Followups, principal: CurrentPrincipal) -> TaskOut:
    await _visible_task(followups, task_id, principal)
    task = await followups.get(task_id)
    if task is None:
        raise HTTPException(404, f"no task {task_id!r}")
    return TaskOut.of(task)


async def _visible_task(followups: FollowupService, task_id: str, principal: Principal) -> None:
    """404 for a task of a store the principal cannot see (as if it did not exist)."""
    task = await followups.get(task_id)
    if task is not None and not principal.may_see(task.store):
        raise HTTPException(404, f"no task {task_id!r}")


@router.post(
    "/{task_id}/complete", response_model=TaskOut,
    responses={**_MISSING, 409: {"description": "already done or cancelled, or someone else's"}},
    summary="Complete a task with an outcome (also resolves its alert)",
)  # fmt: skip
async def complete_task(
    task_id: TaskId, body: CompleteTask, followups: Followups, principal: CurrentPrincipal
) -> TaskOut:
    await _visible_task(followups, task_id, principal)
    if principal.staff is not None and body.staff != principal.staff:
        raise HTTPException(403, f"you act as staff {principal.staff}, not {body.staff}")
    try:
        return TaskOut.of(await followups.complete(task_id, body.staff, body.outcome, body.note))
    except FollowupError as exc:
        raise _http(exc) from None


@router.post("/{task_id}/cancel", response_model=TaskOut, responses=_MISSING)
async def cancel_task(
    task_id: TaskId, followups: Followups, principal: CurrentPrincipal
) -> TaskOut:
    await _visible_task(followups, task_id, principal)
    try:
        return TaskOut.of(await followups.cancel(task_id))
    except FollowupError as exc:
        raise _http(exc) from None
