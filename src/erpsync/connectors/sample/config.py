"""The sample connector's config fields and the parsed, checked form of one connection's config."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from erpsync.errors import ValidationError
from erpsync.protocol.models import MAX_LIMIT, Access, Config, FieldMeta, FieldType, Value

from .language import TEXTS
from .values import parse_datetime

COMPANY_LIST = "erp_company"
DEMO_HINT = "The demo ERP's user is erpsync with password demo."

CONFIG_FIELDS = (
    FieldMeta(
        key="company",
        label="ERP company",
        type=FieldType.LIST,
        list_name=COMPANY_LIST,
        access=Access.MANDATORY,
        rank=1,
        description="The company (client) of the ERP whose records this connection syncs.",
    ),
    FieldMeta(key="user", label="User", type=FieldType.TEXT, max_length=64, access=Access.MANDATORY, rank=2),
    FieldMeta(
        key="password", label="Password", type=FieldType.PASSWORD, max_length=128, access=Access.MANDATORY, rank=3
    ),
    FieldMeta(key="credentials_hint", label="Demo credentials", type=FieldType.LABEL, default=DEMO_HINT, rank=4),
    FieldMeta(
        key="page_size",
        label="Page size",
        type=FieldType.INTEGER,
        default=200,
        rank=5,
        description=f"Most records per page of changes (1 to {MAX_LIMIT}).",
    ),
    FieldMeta(
        key="include_inactive",
        label="Include inactive records in searches",
        type=FieldType.CHECKBOX,
        default=False,
        rank=6,
    ),
    FieldMeta(
        key="sync_from",
        label="Sync changes from",
        type=FieldType.DATETIME,
        rank=7,
        description="Changes made before this moment are not synced. Empty: all changes.",
    ),
    FieldMeta(
        key="default_credit_limit",
        label="Credit limit of new customers",
        type=FieldType.DOUBLE,
        default=0.0,
        rank=8,
        description="Used when a customer, supplier or partner is created without a credit limit.",
    ),
)
_KNOWN_KEYS = frozenset(meta.key for meta in CONFIG_FIELDS)


@dataclass(frozen=True)
class ConnectionConfig:
    company: str
    user: str
    password: str
    page_size: int = 200
    include_inactive: bool = False
    sync_from: datetime | None = None
    default_credit_limit: float = 0.0

    def __repr__(self) -> str:  # never show the password in logs or tracebacks
        return f"ConnectionConfig(company={self.company!r}, user={self.user!r}, page_size={self.page_size})"


def parse_config(config: Config) -> ConnectionConfig:
    """The checked config, or ``ValidationError`` naming the first bad field. Credentials are checked elsewhere."""
    unknown = sorted(set(config) - _KNOWN_KEYS)
    if unknown:
        raise ValidationError(f"unknown config field(s): {', '.join(unknown)}")
    return ConnectionConfig(
        company=_mandatory_text(config, "company"),
        user=_mandatory_text(config, "user"),
        password=_mandatory_text(config, "password"),
        page_size=_page_size(config.get("page_size")),
        include_inactive=_checkbox(config.get("include_inactive")),
        sync_from=_optional_datetime(config.get("sync_from")),
        default_credit_limit=_credit_limit(config.get("default_credit_limit")),
    )


def _mandatory_text(config: Config, key: str) -> str:
    value = config.get(key)
    if value is None or value == "":
        raise ValidationError(TEXTS.text("{key} is mandatory", key=key))
    if not isinstance(value, str):
        raise ValidationError(f"{key} must be text")
    return value


def _page_size(value: Value) -> int:
    if value is None:
        return 200
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise ValidationError(f"page_size must be a whole number from 1 to {MAX_LIMIT}, got {value!r}")
    return value


def _checkbox(value: Value) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationError(f"include_inactive must be true or false, got {value!r}")
    return value


def _optional_datetime(value: Value) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError(f"sync_from must be an ISO 8601 datetime, got {value!r}")
    return parse_datetime(value, what="sync_from")


def _credit_limit(value: Value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValidationError(f"default_credit_limit must be a number of at least 0, got {value!r}")
    return float(value)
