"""Why an import links or skips an ERP actor: a code and its values, which the web pages word in the page's language
(catalog keys ``import.reason.<code>``, the criterion as ``import.criterion.<criterion>``), and the English text the
API, the command line and the job's stored items carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

_ENGLISH = {
    "linked_already": "its ERP key is linked already",
    "parent_missing": "its parent company is not imported or linked in this connection",
    "several_match": "{count} CRM {entities} match by {criterion}",
    "matched_by": "matched by {criterion}",
    "no_name": "no name to create a CRM {entity} with",
    "taken_by_erp": "the CRM {entity} matched by {criterion} is linked to another ERP {actor_type} already",
    "taken_in_import": "the CRM {entity} matched by {criterion} is linked to another actor of this import already",
    "not_found": "not found in the ERP",
    "outside_filter": "outside the sync filter of the actor type",
    "crm_refused": "the CRM refused a value: {message}",
}
CODES = frozenset(_ENGLISH)


@dataclass(frozen=True)
class Reason:
    """``code`` (one of ``CODES``) and the values its wording names; ``criterion`` is a matching criterion's key
    (``org_number``, ``vat_number``, ``email``, ``name``)."""

    code: str
    values: Mapping[str, str | int] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """In English, for the API, the command line and the job's stored items."""
        values = dict(self.values)
        if "criterion" in values:
            values["criterion"] = str(values["criterion"]).replace("_", " ").replace("vat", "VAT")
        return _ENGLISH[self.code].format(**values)

    @property
    def detail(self) -> dict[str, object]:
        """The code and values as the job's stored items keep them (``import_items.reason_detail``)."""
        return {"code": self.code, "values": dict(self.values)}
