"""What a 422 answer says, as the OpenAPI schema documents it: FastAPI's own request
validation errors (`loc`, `msg`, `type`), or the domain checks' problems naming the field
(`{field, message}`: registry, tasks, rules), one or a list."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

_DEFAULT_422 = "#/components/schemas/HTTPValidationError"
_REF = "#/components/schemas/{model}"


class RequestProblem(BaseModel):
    """A request that does not fit the declared parameters or body (FastAPI's shape)."""

    loc: list[str | int] = Field(description="where: `body`, `query`, `path`, then the field")
    msg: str
    type: str


class FieldProblem(BaseModel):
    """A value that fits the schema but not the registry, rules or tasks."""

    field: str = Field(description="the field, dotted when nested (`traffic_surge.factor`)")
    message: str


class Unprocessable(BaseModel):
    detail: list[RequestProblem | FieldProblem] | FieldProblem


class DocumentedApp(FastAPI):
    """FastAPI whose schema declares the 422 answers the routes really give."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = declare_problems(super().openapi())
        return self.openapi_schema


def declare_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Point every operation's default 422 (FastAPI's validation errors only), and a 422
    a route describes without a body, at `Unprocessable`; a declared body is kept."""
    described = Unprocessable.model_json_schema(ref_template=_REF)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(described.pop("$defs", {}))
    components["Unprocessable"] = described
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422")
            if answer is None:
                continue
            body = answer.setdefault("content", {}).setdefault("application/json", {})
            if body.get("schema", {"$ref": _DEFAULT_422}).get("$ref") == _DEFAULT_422:
                body["schema"] = {"$ref": _REF.format(model="Unprocessable")}
                if answer.get("description") in (None, "Validation Error"):
                    answer["description"] = "invalid input; each problem names its field"
    if _DEFAULT_422 not in json.dumps(schema):  # nothing refers to FastAPI's any more
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
    return schema
