"""docs/protocol.md and docs/protocol/ say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from erpsync.protocol import models as m
from erpsync.protocol.schema import main, protocol_schemas, render
from erpsync.protocol.signing import sign, sign_v2

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _worked_examples(text: str) -> list[dict[str, str]]:
    """Each fenced block of protocol.md that ends in a ``signature:`` line, as its ``name: value`` lines."""
    blocks = re.findall(r"^```\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    return [
        dict(re.findall(r"^(\w+): +(.+)$", block, flags=re.MULTILINE))
        for block in blocks
        if re.search(r"^signature: ", block, flags=re.MULTILINE)
    ]


def test_the_worked_signing_examples_are_right() -> None:
    text = (DOCS / "protocol.md").read_text(encoding="utf-8")
    examples = {len(example): example for example in _worked_examples(text)}
    assert sorted(examples) == [4, 7]
    v1, v2 = examples[4], examples[7]
    assert set(v1) == {"secret", "timestamp", "body", "signature"}
    assert sign(v1["secret"], v1["timestamp"], v1["body"].encode()) == v1["signature"]
    assert set(v2) == {"secret", "method", "path", "timestamp", "nonce", "body", "signature"}
    arguments = {key: v2[key] for key in ("method", "path", "timestamp", "nonce")}
    assert sign_v2(v2["secret"], **arguments, body=v2["body"].encode()) == v2["signature"]
    moved = sign_v2(v2["secret"], **{**arguments, "path": "/v1/delete_connection"}, body=v2["body"].encode())
    assert f"computes\n`{moved}`" in text
    assert f"followed by\nthe {len(v2['body'].encode())} body bytes" in text


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
