"""Dates, times and numbers as the page's language writes them (Babel's locale data): ERP values on the ERP tab and
the moments the hub shows (*Last sync*), with their time zone.

Public names: ``Formats``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from erpsync.protocol import models as m

_LOCALES = {"en": "en_GB", "da": "da_DK"}


class Formats:
    """``formats.erp(display, type)``, ``formats.moment(when)``, ``formats.day(date)``, ``formats.money(amount,
    currency)`` in one language."""

    def __init__(self, language: str) -> None:
        self.locale = Locale.parse(_LOCALES.get(language, "en_GB"))

    def moment(self, when: dt.datetime) -> str:
        """A moment the hub stored (naive ones are UTC), with its time zone."""
        aware = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        return format_datetime(aware, "long", tzinfo=dt.UTC, locale=self.locale)

    def day(self, day: dt.date) -> str:
        """A date (an ERP document's) without a time."""
        return format_date(day, "medium", locale=self.locale)

    def money(self, amount: str, currency: str) -> str:
        """A decimal amount (the protocol's decimal string) with its currency, the language's way: ``kr. 1.250,00``."""
        try:
            return format_currency(Decimal(amount), currency, locale=self.locale)
        except (InvalidOperation, ValueError):  # never from a valid answer; shown as sent rather than failing the page
            return f"{amount} {currency}"

    def number(self, text: str) -> str:
        """A decimal string (a document line's quantity) the language's way: ``1,5`` in Danish."""
        try:
            return format_decimal(Decimal(text), locale=self.locale)
        except (InvalidOperation, ValueError):
            return text

    def erp(self, display: object, field_type: m.FieldType | None) -> object:
        """An ERP value's display: dates and numbers in the language's way; anything else as it is."""
        if not isinstance(display, str) or not display or field_type is None:
            return display
        try:
            if field_type is m.FieldType.DATETIME:
                return self._datetime(display)
            if field_type in (m.FieldType.INTEGER, m.FieldType.DOUBLE):
                return format_decimal(float(display) if "." in display else int(display), locale=self.locale)
        except ValueError:  # the connector's own text: shown as sent
            return display
        return display

    def _datetime(self, text: str) -> str:
        when = dt.datetime.fromisoformat(text)
        if when.time() == dt.time(0) and (when.tzinfo is None or when.utcoffset() == dt.timedelta(0)):
            return format_date(when.date(), "medium", locale=self.locale)
        return self.moment(when)
