"""The served ``/docs.json`` as a valid OpenAPI 3.0 document that says what the service really sends.

BentoML 1.4 declares OpenAPI 3.0 but writes pydantic's JSON Schema 2020-12 bounds
(``"exclusiveMinimum": 0.0``, which 3.0 spells ``"minimum": 0.0, "exclusiveMinimum": true``), so
strict 3.0 readers (client generators, schemathesis) reject or misread it; it documents a 400's
``detail`` as a string while validation errors send a list; and it omits the answers the guards
give (408 body stalled, 413 body too large, 415 not JSON, 503 not ready or overloaded, with
``Retry-After``).
``DocumentedErrors`` rewrites the document as it is served, so every client reads the truth.
"""

from __future__ import annotations

import json
from typing import Any

from libs.serving.guards import RewrittenPage

DOCUMENT_PATH = "/docs.json"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "What was wrong, in words."},
        "detail": {
            "type": "array",
            "items": {"type": "object"},
            "description": "One entry per invalid field: its location (loc) and the problem (msg).",
        },
        "omitted_details": {"type": "integer", "description": "Entries left out of detail."},
    },
}
EXTRA_RESPONSES = {
    "408": "Request body stopped arriving, or came too slowly, before its declared end.",
    "413": "Request body larger than the service accepts.",
    "415": "Request body is not application/json in UTF-8, or has a Content-Encoding.",
    "503": "Not ready (no champion loaded, or an agent it needs is down) or overloaded; see Retry-After.",
}


NULL = {"type": "null"}


def openapi_30(node: Any) -> Any:
    """JSON Schema 2020-12 rewritten in OpenAPI 3.0's words, everywhere: numeric exclusive bounds
    become ``minimum`` plus ``exclusiveMinimum: true``; ``anyOf: [X, {"type": "null"}]`` (pydantic's
    ``X | None``) becomes X with ``nullable: true``; ``const`` becomes a one-value ``enum``."""
    if isinstance(node, list):
        return [openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    fixed = {key: openapi_30(value) for key, value in node.items()}
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = fixed.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            fixed[limit], fixed[bound] = value, True
    choices = fixed.get("anyOf")
    if isinstance(choices, list) and NULL in choices:
        others = [choice for choice in choices if choice != NULL]
        del fixed["anyOf"]
        if len(others) == 1 and "$ref" not in others[0]:
            fixed = {**others[0], **fixed}
        else:
            fixed["anyOf"] = others
        fixed["nullable"] = True
    if "const" in fixed:
        fixed["enum"] = [fixed.pop("const")]
    return fixed


def documented(document: dict[str, Any]) -> dict[str, Any]:
    """The document with 3.0 bounds and every error answer an API endpoint can give."""
    fixed: dict[str, Any] = openapi_30(document)
    schemas = fixed.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    retry_after = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
    for item in fixed.get("paths", {}).values():
        operation = item.get("post") if isinstance(item, dict) else None
        if not isinstance(operation, dict):
            continue
        responses = operation.setdefault("responses", {})
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        responses["400"] = {"description": "Invalid request: the fields named in detail.", **error}
        for status, description in EXTRA_RESPONSES.items():
            headers = {"headers": retry_after} if status == "503" else {}
            responses[status] = {"description": description, **error, **headers}
    return fixed


class DocumentedErrors(RewrittenPage):
    """Serves ``documented()`` of BentoML's own ``/docs.json``."""

    path = DOCUMENT_PATH

    def rewrite(self, body: bytes) -> bytes:
        return json.dumps(documented(json.loads(body))).encode()
