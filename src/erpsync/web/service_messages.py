"""The service layer's reasons, in the page's language: ``said(text)`` words a refusal the hub's configuration rules
give (``erpsync.sync.configuration.describe``: "scope.field: message") or the account rules give, in the page's
language, keeping the scope and field, which are ERP keys; a message it does not know is shown as the service wrote
it.

Public names: ``ServiceText``, ``reason_in_request_language``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from erpsync.protocol import models as m
from erpsync.protocol.language import current
from erpsync.sync.bulkhead import BUSY, NOT_ANSWERING
from erpsync.sync.connection_config import ConfigProblem
from erpsync.sync.imports.reasons import CODES
from erpsync.web.i18n import DEFAULT_LANGUAGE, Translator

_QUOTED = r"'(?P<{}>[^']*)'"
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(f"^{pattern}$"), key)
    for pattern, key in (
        ("a direction needs a CRM field", "problem.direction_needs_crm_field"),
        ("a read-only ERP field cannot sync to the ERP", "problem.read_only"),
        ("a mandatory ERP field needs a CRM→ERP direction or a default", "problem.mandatory_field"),
        ("a mandatory default needs a value or must ask the user", "problem.mandatory_default"),
        ("this ERP field cannot be given a value", "problem.no_value"),
        ("the connector does not offer this actor type", "problem.actor_type_gone"),
        ("no actor type is switched on: switch on the mapping of at least one", "problem.nothing_on"),
        (f"list {_QUOTED.format('name')} has no list mapping", "problem.no_list_mapping"),
        (f"ERP item {_QUOTED.format('item')} is not paired: choose a CRM item or no selection", "problem.unpaired"),
        (
            f"CRM item {_QUOTED.format('label')} is paired with both {_QUOTED.format('first')} and "
            + _QUOTED.format("second"),
            "problem.paired_twice",
        ),
        (
            r"the connector offers no writable 'active' checkbox for a (?P<actor>\w+), so the ERP actor cannot be "
            r"deactivated: choose unlink",
            "problem.no_erp_active_field",
        ),
        # a connector's bulkhead (erpsync.sync.bulkhead): also stored as a link's last error
        (re.escape(NOT_ANSWERING), "erp.not_answering"),
        (re.escape(BUSY), "erp.busy"),
        # sync connectors (erpsync.sync.connectors)
        (
            f"connector {_QUOTED.format('name')} is used by (?P<count>\\d+) connections?; delete (?:it|those) first",
            "connector.in_use",
        ),
        # ERP connections (erpsync.sync.connections)
        ("the connection needs a name", "connection.needs_name"),
        (f"an ERP connection named {_QUOTED.format('name')} exists already", "connection.name_taken"),
        ("a config value must not contain the NUL character \\(U\\+0000\\)", "config.problem.nul"),
        # Sync now of a record (erpsync.sync.engine.RECORD_BUSY)
        ("another sync of this record is under way: try again when it is done", "sync.record_busy"),
        # alert webhooks (erpsync.sync.alert_settings, erpsync.sync.webhook_urls)
        ("the webhook URL is not a valid URL", "alerts.webhook_invalid"),
        (
            r"the webhook URL must be an http\(s\) URL with a host and no user name or password",
            "alerts.webhook_http_only",
        ),
        ("the webhook URL must use https", "alerts.webhook_https"),
        (
            f"the webhook host {_QUOTED.format('host')} is an internal address \\(loopback, private, link-local or "
            r"unspecified\): list it in ERPSYNC_WEBHOOK_ALLOWED_HOSTS to allow it",
            "alerts.webhook_internal",
        ),
        (f"the webhook host {_QUOTED.format('host')} could not be resolved", "alerts.webhook_unresolved"),
        # users and groups (erpsync.accounts, erpsync.administration, the pages' own checks)
        (r"password must have at least (?P<count>\d+) characters", "account.password_short"),
        ("password is one of the most common passwords; choose another", "account.password_common"),
        ("password must not be the login name", "account.password_login"),
        ("password must not be only digits", "account.password_digits"),
        ("the two passwords differ", "account.passwords_differ"),
        (f"a user with login {_QUOTED.format('login')} exists", "account.login_taken"),
        (f"a group named {_QUOTED.format('name')} exists", "account.group_taken"),
        ("you cannot remove your own administrator role or deactivate yourself", "account.not_yourself"),
    )
)


class ServiceText:
    """``said(text)`` in one language."""

    def __init__(self, t: Translator) -> None:
        self.t = t

    def __call__(self, text: str) -> str:
        whole = self._message(text)
        if whole is not None:
            return whole
        where, separator, message = text.partition(": ")
        worded = self._message(message) if separator else None
        return f"{where}: {worded}" if worded is not None else text

    def reason(self, code: str, values: Mapping[str, str | int], english: str) -> str:
        """An import's reason (``sync.imports.reasons``) in the page's language; without a code, as written."""
        if not code:
            return english
        worded = dict(values)
        if "criterion" in worded:
            worded["criterion"] = self.t(f"import.criterion.{worded['criterion']}")
        return self.t(f"import.reason.{code}", **worded)

    def stored_reason(self, detail: Mapping[str, object] | None, english: str) -> str:
        """An import job's stored reason (``import_items.reason_detail``) in the page's language; an older row, which
        kept only the English text, as written."""
        code, values = (detail or {}).get("code"), (detail or {}).get("values")
        if not isinstance(code, str) or code not in CODES or not isinstance(values, Mapping):
            return english
        return self.reason(code, {str(k): v for k, v in values.items() if isinstance(v, str | int)}, english)

    def config_problems(self, problems: Sequence[ConfigProblem]) -> str:
        """A connection's refused config values (``sync.connection_config``) in the page's language; the field names
        are the connector's labels."""
        worded = []
        for problem in problems:
            values = dict(problem.values)
            if "type" in values:
                values["type"] = self.t(f"type.{values['type']}")
            worded.append(self.t(f"config.problem.{problem.code}", field=problem.field, **values))
        return self.t("config.invalid", problems="; ".join(worded))

    def criterion(self, code: str, values: Mapping[str, str | int]) -> str:
        """A search restriction's problem (``sync.erp_tab.search.CRITERIA_PROBLEMS``) in the page's language, its
        operators and field type named as the criteria rows name them."""
        worded = dict(values)
        if "operator" in worded:
            worded["operator"] = self._operator(str(worded["operator"]))
        if "allowed" in worded:
            worded["allowed"] = ", ".join(self._operator(name) for name in str(worded["allowed"]).split(", "))
        if "type" in worded:
            worded["type"] = self.t(f"type.{worded['type']}")
        return self.t(f"criteria.{code}", **worded)

    def _operator(self, value: str) -> str:
        try:
            return self.t(f"operator.{m.Operator(value).name.lower()}")
        except ValueError:
            return value  # not an operator at all: as the user sent it

    def _message(self, message: str) -> str | None:
        for pattern, key in _MESSAGES:
            match = pattern.match(message)
            if match:
                return self.t(key, **match.groupdict())
        return None


def reason_in_request_language(detail: Mapping[str, object] | None, english: str) -> str:
    """An import's reason (``{"code", "values"}``, else its English text) in the language the request is served in
    (``web.speaking``: the session's, else ``Accept-Language``): the API's import results word it so."""
    return ServiceText(Translator(current() or DEFAULT_LANGUAGE)).stored_reason(detail, english)
