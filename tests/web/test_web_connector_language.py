"""The connector's texts in the page's language (docs/protocol.md, *Language*): the connection dialog's config
fields, the ERP field labels cached per language, and the ERP's list items, over real HTTP to the sample connector."""

from __future__ import annotations

from erpsync.testing.sample import RunningSample

from .conftest import Site, add_connection


def test_connector_texts_follow_the_page_language(site: Site, sample: RunningSample) -> None:
    site.add_user("root", is_admin=True)
    admin = site.signed_in("root")
    connection_id = add_connection(admin, sample)
    base = f"/settings/sync/connections/{connection_id}"

    english_fields = admin.get(f"{base}/mappings?actor_type=project").text
    assert "End date" in english_fields
    assert "Slutdato" not in english_fields

    admin.post("/language", {"language": "da", "next": "/settings/sync"})
    danish_fields = admin.get(f"{base}/mappings?actor_type=project").text
    assert "Slutdato" in danish_fields, "the ERP field labels cached in Danish"
    assert "End date" not in danish_fields

    danish_lists = admin.get(f"{base}/list-mapping").text
    assert "I gang" in danish_lists, "the ERP's list items asked for in Danish"
    assert "In progress" not in danish_lists

    edit = admin.get(f"{base}/edit").text
    assert "ERP-firma" in edit, "the connection's config fields in Danish"
    assert "Demo-ERP&#39;ets bruger er erpsync" in edit or "Demo-ERP'ets bruger er erpsync" in edit
