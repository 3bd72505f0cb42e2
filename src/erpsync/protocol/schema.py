"""JSON Schema of protocol v1, one file per operation request and response plus the shared models.

``python -m erpsync.protocol.schema docs/protocol`` writes them; a test keeps the committed copies current.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from erpsync.protocol import documents
from erpsync.protocol import models as m

SHARED_MODELS: dict[str, type[BaseModel]] = {
    "envelope": m.Envelope,
    "actor": m.Actor,
    "field_meta": m.FieldMeta,
    "list_item": m.ListItem,
    "restriction": m.Restriction,
    "capabilities": m.Capabilities,
    "actor_error": m.ActorError,
    **documents.SHARED_MODELS,
}


def protocol_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, for every operation's request and response and each shared model."""
    schemas: dict[str, dict[str, Any]] = {}
    for operation, (request_type, response_type) in m.OPERATIONS.items():
        schemas[f"{operation}.request.json"] = _closed(_schema(request_type, f"{operation} request"))
        schemas[f"{operation}.response.json"] = _schema(response_type, f"{operation} response")
    for name, model in SHARED_MODELS.items():
        schemas[f"{name}.json"] = _schema(model, model.__name__)
    return schemas


def write_schemas(outdir: Path) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in protocol_schemas().items():
        path = outdir / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    schema["title"] = title
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _closed(node: Any) -> Any:
    """Forbid unknown members in every object with declared members: the SDK refuses them at any depth."""
    if isinstance(node, dict):
        closed = {key: _closed(value) for key, value in node.items()}
        if "properties" in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(node, list):
        return [_closed(item) for item in node]
    return node


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m erpsync.protocol.schema OUTDIR", file=sys.stderr)
        return 2
    for path in write_schemas(Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
