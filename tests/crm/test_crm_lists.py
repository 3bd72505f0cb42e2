"""CRM lists: stable ids, rank order, no duplicate labels, soft delete."""

from __future__ import annotations

import pytest

from erpsync.crm import lists
from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import CrmList
from erpsync.errors import NotFoundError
from erpsync.storage.db import Database


def test_items_keep_their_ids_and_order(database: Database) -> None:
    with database.session() as session:
        no = lists.add_item(session, CrmList.COUNTRY, label="Norway")
        dk = lists.add_item(session, CrmList.COUNTRY, label="Denmark", rank=0)
        lists.add_item(session, CrmList.BUSINESS, label="Retail")
    with database.session() as session:
        assert [i.label for i in lists.list_items(session, CrmList.COUNTRY)] == ["Denmark", "Norway"]
        lists.update_item(session, CrmList.COUNTRY, no.id, label="Norge", deleted=True)
    with database.session() as session:
        assert [i.id for i in lists.list_items(session, CrmList.COUNTRY)] == [dk.id]
        every = lists.list_items(session, CrmList.COUNTRY, include_deleted=True)
        assert [(i.id, i.label, i.deleted) for i in every] == [(dk.id, "Denmark", False), (no.id, "Norge", True)]


def test_bad_items_are_refused(database: Database) -> None:
    with database.session() as session:
        dk = lists.add_item(session, CrmList.COUNTRY, label="Denmark")
        with pytest.raises(InvalidFieldError, match="labelled"):
            lists.add_item(session, CrmList.COUNTRY, label=" denmark ")
        with pytest.raises(InvalidFieldError, match="label"):
            lists.add_item(session, CrmList.COUNTRY, label="")
        with pytest.raises(NotFoundError):
            lists.update_item(session, CrmList.BUSINESS, dk.id, label="x")
    with pytest.raises(NotFoundError, match="lists: country"):
        lists.parse_list_name("colour")
