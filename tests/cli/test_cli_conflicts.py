"""``erpsync conflicts list|resolve``: the conflict inbox from the command line, against the sample connector."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.fields import ORGANISATION
from erpsync.crm.fields import EntityType
from erpsync.crm.service import write_record
from erpsync.protocol.models import ActorType
from erpsync.storage.db import Database
from erpsync.storage.tables import Company
from erpsync.testing.sample import COMPANY, RunningSample

from .conftest import run_cli, run_json
from .test_cli_operations import _activate


def test_a_conflict_under_the_ask_policy_is_listed_and_resolved(
    main_connection: str, sample: RunningSample, data_dir: Path
) -> None:
    key = sample.erp.create_actor(COMPANY, ActorType.CUSTOMER, NewRecord({"name": "Fjord", "email": "f@fjord.example"}))
    _activate(main_connection)
    assert run_cli("policy", "set", "Main", stdin=json.dumps({"policy": "ask", "no_blank_overwrite": False}))[0] == 0
    assert run_cli("import", "Main", "customer")[0] == 0
    assert run_json("conflicts", "list") == []

    sample.erp.update_actor(COMPANY, ActorType.CUSTOMER, key, {"email": "erp@fjord.example"})
    database = Database(f"sqlite:///{data_dir / 'erpsync.sqlite'}")
    try:
        with database.session() as session:
            company_id = session.scalars(select(Company.id)).one()
            write_record(session, EntityType.COMPANY, company_id, {"EMAIL": "crm@fjord.example"}, changed_by="user:1")
    finally:
        database.dispose()
    assert run_cli("connections", "sync", "Main")[0] == 0

    (waiting,) = run_json("conflicts", "list")
    assert (waiting["field"], waiting["crm_value"], waiting["erp_value"]) == (
        "email",
        "crm@fjord.example",
        "erp@fjord.example",
    )
    code, output = run_cli("conflicts", "list", "--connection", "Main")
    assert code == 0
    assert "crm@fjord.example" in output
    assert run_cli("conflicts", "resolve", "999", "--keep", "crm")[0] == 1  # not an open conflict: nothing changes
    (result,) = run_json("conflicts", "resolve", str(waiting["id"]), "--keep", "crm")
    assert result["state"] == "ok"
    assert run_json("conflicts", "list") == []
    fields = sample.erp.fetch(COMPANY, ActorType.CUSTOMER, [key], ORGANISATION.fields)[key].fields
    assert fields["email"] == "crm@fjord.example"
