"""The built-in CRM's tables: entities (companies, persons, projects), list items, the change counter and tombstones.

Catalogue columns are named and sized as the CRM's field catalogue says (``erpsync.crm.fields``: ``CrmField.attr`` and
``CrmField.max_length``); the schema tests check that they agree, so storage needs nothing of the CRM.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erpsync.storage.tables.base import Base, utcnow


def _text(length: int = 255) -> Mapped[str | None]:
    return mapped_column(String(length))


def _list_item() -> Mapped[int | None]:
    # The FK proves the item exists; that it belongs to the field's list is checked by the CRM service.
    return mapped_column(ForeignKey("list_items.id", ondelete="RESTRICT"))


class ChangeCounter(Base):
    """One row holding the last CRM change sequence number; see ``erpsync.crm.changes`` for why a row."""

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class ListItem(Base):
    __tablename__ = "list_items"
    __table_args__ = (Index("ix_list_items_list_name_rank", "list_name", "rank"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    list_name: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(255))
    rank: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class CrmEntity(Base):
    """Columns every CRM entity has besides its catalogue fields."""

    __abstract__ = True
    # Ids are never reused (SQLite would reuse the highest after a delete): a tombstone names one entity for good.
    __table_args__: Any = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    change_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    changed_by: Mapped[str] = mapped_column(String(64))  # "user:<id>", "sync:<connection id>", "system"
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Company(CrmEntity):
    __tablename__ = "companies"

    name: Mapped[str] = mapped_column(String(255), index=True)
    department: Mapped[str | None] = _text()
    number1: Mapped[str | None] = _text(64)
    number2: Mapped[str | None] = _text(64)
    vat_number: Mapped[str | None] = _text(64)
    phone: Mapped[str | None] = _text(64)
    fax: Mapped[str | None] = _text(64)
    email: Mapped[str | None] = _text()
    url: Mapped[str | None] = _text(1000)
    postal_address1: Mapped[str | None] = _text()
    postal_address2: Mapped[str | None] = _text()
    postal_address3: Mapped[str | None] = _text()
    postal_zip: Mapped[str | None] = _text(32)
    postal_city: Mapped[str | None] = _text()
    postal_county: Mapped[str | None] = _text()
    postal_state: Mapped[str | None] = _text()
    street_address1: Mapped[str | None] = _text()
    street_address2: Mapped[str | None] = _text()
    street_address3: Mapped[str | None] = _text()
    street_zip: Mapped[str | None] = _text(32)
    street_city: Mapped[str | None] = _text()
    street_county: Mapped[str | None] = _text()
    street_state: Mapped[str | None] = _text()
    country_id: Mapped[int | None] = _list_item()
    business_id: Mapped[int | None] = _list_item()
    category_id: Mapped[int | None] = _list_item()

    persons: Mapped[list[Person]] = relationship(back_populates="company", passive_deletes=True)


class Person(CrmEntity):
    __tablename__ = "persons"

    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"), index=True)
    first_name: Mapped[str | None] = _text()
    middle_name: Mapped[str | None] = _text()
    last_name: Mapped[str | None] = _text()
    title: Mapped[str | None] = _text()
    position: Mapped[str | None] = _text()
    number: Mapped[str | None] = _text(64)
    phone_direct: Mapped[str | None] = _text(64)
    phone_private: Mapped[str | None] = _text(64)
    phone_mobile: Mapped[str | None] = _text(64)
    phone_other: Mapped[str | None] = _text(64)
    email: Mapped[str | None] = _text()
    url: Mapped[str | None] = _text(1000)
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    postal_address1: Mapped[str | None] = _text()
    postal_address2: Mapped[str | None] = _text()
    postal_address3: Mapped[str | None] = _text()
    postal_zip: Mapped[str | None] = _text(32)
    postal_city: Mapped[str | None] = _text()
    country_id: Mapped[int | None] = _list_item()

    company: Mapped[Company | None] = relationship(back_populates="persons")


class Project(CrmEntity):
    __tablename__ = "projects"

    name: Mapped[str] = mapped_column(String(255), index=True)
    text: Mapped[str | None] = mapped_column(Text)
    number: Mapped[str | None] = _text(64)
    url: Mapped[str | None] = _text(1000)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    status_id: Mapped[int | None] = _list_item()


class CrmDeletion(Base):
    """A tombstone: the change feed reports deleted entities with the sequence number of their deletion."""

    __tablename__ = "crm_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    change_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    changed_by: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
