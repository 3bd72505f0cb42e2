"""docs/protocol.md and docs/protocol/ say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from erpsync.protocol import models as m
from erpsync.protocol.schema import main, protocol_schemas, render
from erpsync.protocol.signing import sign

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_worked_signing_example_is_right() -> None:
    text = (DOCS / "protocol.md").read_text(encoding="utf-8")
    example = dict(re.findall(r"^(secret|timestamp|body|signature): +(.+)$", text, flags=re.MULTILINE))
    assert set(example) == {"secret", "timestamp", "body", "signature"}
    assert sign(example["secret"], example["timestamp"], example["body"].encode()) == example["signature"]


def test_every_operation_and_operator_is_documented() -> None:
    text = (DOCS / "protocol.md").read_text(encoding="utf-8")
    assert all(f"| `{operation}` |" in text for operation in m.OPERATIONS)
    assert all(f"`{operator.value}`" in text for operator in m.Operator)


def test_committed_schemas_are_current() -> None:
    committed = {path.name: path.read_text(encoding="utf-8") for path in (DOCS / "protocol").glob("*.json")}
    fresh = {name: render(schema) for name, schema in protocol_schemas().items()}
    assert committed == fresh, "run: python -m erpsync.protocol.schema docs/protocol"


def test_schema_command_writes_every_file(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(protocol_schemas())
    assert main([]) == 2


def test_request_schemas_forbid_unknown_members_at_every_depth() -> None:
    schema = protocol_schemas()["create_actor.request.json"]
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["Actor"]["additionalProperties"] is False
    assert "additionalProperties" not in protocol_schemas()["actor.json"]
