"""The answer of a sync filter's preview (``sync.filter_config.preview``), for the API and the command line alike."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from erpsync.sync import filter_config


class FilterPreviewPublic(BaseModel):
    """What a candidate filter would do to today's links of the actor type; ``bounded``: only the first ``limit``
    links were looked at."""

    model_config = ConfigDict(frozen=True)

    links: int
    checked: int
    would_stop: int
    would_resume: int
    missing: int
    bounded: bool
    limit: int = filter_config.PREVIEW_LIMIT

    @classmethod
    def of(cls, shown: filter_config.FilterPreview) -> FilterPreviewPublic:
        return cls(
            links=shown.links,
            checked=shown.checked,
            would_stop=shown.would_stop,
            would_resume=shown.would_resume,
            missing=shown.missing,
            bounded=shown.bounded,
        )
