"""Automatic creation's API shapes (``sync.auto_config``, ``sync.auto_reviews``): a setting's preview and a review
decision, for the API and the command line alike."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from erpsync.sync import auto_config


class AutoPreviewPublic(BaseModel):
    """What a setting would do to today's unlinked records of one side; ``bounded``: only the first ``checked``
    records were decided. ``decided``: on the review list with a person's decision, left alone."""

    model_config = ConfigDict(frozen=True)

    created: int
    linked: int
    review: int
    stopped: int
    decided: int
    checked: int
    bounded: bool
    stop_reasons: dict[str, int]

    @classmethod
    def of(cls, shown: auto_config.AutoPreview) -> AutoPreviewPublic:
        return cls(
            created=shown.created,
            linked=shown.linked,
            review=shown.review,
            stopped=shown.stopped,
            decided=shown.decided,
            checked=shown.checked,
            bounded=shown.bounded,
            stop_reasons=shown.stop_reasons,
        )


class AutoPreviewsPublic(BaseModel):
    """A setting's preview: ERP actors that would become CRM records, CRM records that would become ERP actors."""

    model_config = ConfigDict(frozen=True)

    erp_to_crm: AutoPreviewPublic
    crm_to_erp: AutoPreviewPublic

    @classmethod
    def of(cls, shown: auto_config.Previews) -> AutoPreviewsPublic:
        return cls(erp_to_crm=AutoPreviewPublic.of(shown.erp_to_crm), crm_to_erp=AutoPreviewPublic.of(shown.crm_to_erp))


class ReviewLinkBody(BaseModel):
    """Link a review item's record to one of its candidates (its ``key``: a CRM record id or an ERP key)."""

    model_config = ConfigDict(extra="forbid")

    candidate: str = Field(min_length=1, max_length=255)
