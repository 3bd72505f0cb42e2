"""``erpsync auto show|set|preview|reviews|link|create|ignore`` against the sample connector over loopback: ``show
--json`` prints the API's answer, ``set --dry-run`` and ``preview`` save nothing, a bad setting is refused and changes
nothing, ``erpsync sync`` says what automatic creation did, and the review list's items are decided."""

from __future__ import annotations

import json

from erpsync.connectors.sample.erp import NewRecord
from erpsync.protocol.models import ActorType
from erpsync.testing.sample import COMPANY, RunningSample

from .conftest import run_cli, run_json

ON = ("--direction", "erp_to_crm", "--match", "email")


def test_auto_show_set_preview_reviews_and_refuse(main_connection: str, sample: RunningSample) -> None:
    run_json("mappings", "auto", "Main", "customer", "--direction", "both", "--on")
    assert run_json("auto", "show", "Main", "customer") == {"direction": "off", "match": []}
    sample.erp.create_actor(COMPANY, ActorType.CUSTOMER, NewRecord(values={"name": "Newco", "email": "n@new.example"}))
    shown = run_json("auto", "set", "Main", "customer", *ON, "--dry-run")
    assert (shown["erp_to_crm"]["created"], shown["crm_to_erp"]["checked"]) == (1, 0)
    assert run_json("auto", "preview", "Main", "customer", *ON) == shown
    assert run_json("auto", "show", "Main", "customer")["direction"] == "off"  # nothing saved
    assert run_json("auto", "set", "Main", "customer", *ON) == {"direction": "erp_to_crm", "match": ["email"]}
    code, output = run_cli("auto", "set", "Main", "customer", "--direction", "both", "--match", "shoe_size")
    assert code == 1
    assert "shoe_size" in output
    assert run_json("auto", "show", "Main", "customer")["match"] == ["email"]
    country = run_json("list-mappings", "show", "Main")["lists"]["country"]
    unpaired = {"lists": {"country": {"crm_list": "country", "items": {i["key"]: None for i in country["erp_items"]}}}}
    assert run_cli("list-mappings", "set", "Main", stdin=json.dumps(unpaired))[0] == 0
    assert run_cli("connections", "activate", "Main") == (0, "connection Main active\n")
    code, output = run_cli("sync")  # the run says what automatic creation did
    assert code == 0, output
    assert "automatic creation: 0 linked, 1 created, 0 to review" in output
    assert run_json("auto", "reviews", "Main") == []
    code, output = run_cli("auto", "ignore", "Main", "99")
    assert code == 1
    assert "no review item 99" in output
