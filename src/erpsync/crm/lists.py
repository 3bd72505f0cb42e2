"""CRM lists (country, business, category, project status): items with stable ids, ordered by rank.

Public names: ``list_items(session, list_name, *, include_deleted)``, ``get_item``, ``add_item``, ``update_item``,
``parse_list_name``. Items are never removed, only flagged ``deleted``: entities and list mappings keep their ids.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erpsync.crm.errors import InvalidFieldError
from erpsync.crm.fields import CrmList
from erpsync.errors import NotFoundError
from erpsync.storage.tables import ListItem

MAX_LABEL_LENGTH = 255


def parse_list_name(name: str) -> CrmList:
    try:
        return CrmList(name)
    except ValueError:
        raise NotFoundError(f"no list named {name!r}; lists: {', '.join(CrmList)}") from None


def list_items(session: Session, list_name: CrmList, *, include_deleted: bool = False) -> list[ListItem]:
    query = select(ListItem).where(ListItem.list_name == list_name.value)
    if not include_deleted:
        query = query.where(ListItem.deleted.is_(False))
    return list(session.scalars(query.order_by(ListItem.rank, ListItem.id)))


def get_item(session: Session, list_name: CrmList, item_id: int) -> ListItem:
    item = session.get(ListItem, item_id)
    if item is None or item.list_name != list_name.value:
        raise NotFoundError(f"no item {item_id} in the {list_name} list")
    return item


def _clean_label(session: Session, list_name: CrmList, label: str, *, item_id: int | None = None) -> str:
    label = label.strip()
    if not label or len(label) > MAX_LABEL_LENGTH:
        raise InvalidFieldError("label", f"must have 1 to {MAX_LABEL_LENGTH} characters")
    clash = session.scalar(
        select(ListItem.id).where(
            ListItem.list_name == list_name.value,
            func.lower(ListItem.label) == label.lower(),
            ListItem.deleted.is_(False),
            ListItem.id != (item_id or 0),
        )
    )
    if clash is not None:
        raise InvalidFieldError("label", f"the {list_name} list has an item labelled {label!r}")
    return label


def add_item(session: Session, list_name: CrmList, *, label: str, rank: int | None = None) -> ListItem:
    """Add an item; without a rank it goes last."""
    if rank is None:
        last = session.scalar(select(func.max(ListItem.rank)).where(ListItem.list_name == list_name.value))
        rank = (last or 0) + 1
    item = ListItem(list_name=list_name.value, label=_clean_label(session, list_name, label), rank=rank)
    session.add(item)
    session.flush()
    return item


def update_item(
    session: Session,
    list_name: CrmList,
    item_id: int,
    *,
    label: str | None = None,
    rank: int | None = None,
    deleted: bool | None = None,
) -> ListItem:
    item = get_item(session, list_name, item_id)
    if label is not None:
        item.label = _clean_label(session, list_name, label, item_id=item.id)
    if rank is not None:
        item.rank = rank
    if deleted is not None:
        item.deleted = deleted
    session.flush()
    return item
