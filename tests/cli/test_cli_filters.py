"""``erpsync filters show|set|preview`` against the sample connector over loopback: ``show --json`` prints the API's
answer and ``set`` takes it back unchanged, ``preview`` saves nothing, a bad filter is refused and changes nothing."""

from __future__ import annotations

import json

from .conftest import run_cli, run_json

WHOLESALE_ONLY = {
    "erp": [{"field": "customer_group", "operator": "oneof", "values": ["WHOLESALE"]}],
    "crm": [{"field": "NUMBER1", "operator": "isnot", "values": [""]}],
}


def test_filters_show_set_preview_and_refuse(main_connection: str) -> None:
    assert run_json("filters", "show", "Main", "customer") == {"erp": [], "crm": []}
    shown = run_json("filters", "preview", "Main", "customer", stdin=json.dumps(WHOLESALE_ONLY))
    assert (shown["links"], shown["would_stop"], shown["bounded"], shown["limit"]) == (0, 0, False, 1000)
    assert run_json("filters", "show", "Main", "customer") == {"erp": [], "crm": []}
    saved = run_json("filters", "set", "Main", "customer", stdin=json.dumps(WHOLESALE_ONLY))
    assert saved == WHOLESALE_ONLY
    assert run_json("filters", "set", "Main", "customer", stdin=json.dumps(saved)) == saved
    code, output = run_cli("filters", "show", "Main", "customer")
    assert code == 0, output
    assert "customer_group" in output
    bad = {"erp": [{"field": "colour", "operator": "=", "values": ["red"]}]}
    code, output = run_cli("filters", "set", "Main", "customer", stdin=json.dumps(bad))
    assert (code, output) == (1, "error: filter.erp.0.colour: no such field\n")
    assert run_json("filters", "show", "Main", "customer") == WHOLESALE_ONLY
    assert run_cli("filters", "show", "Main", "spaceship")[0] == 1
