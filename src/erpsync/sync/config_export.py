"""A hub's configuration read into the file model (``sync.config_file``), with no secret in it.

Secrets become references to environment variables named after what they belong to (``secret_variable``): the
connector ``Sample``'s shared secret is ``{env: ERPSYNC_SECRET_CONNECTOR_SAMPLE}``, the password field ``password``
of the connection ``Main`` is ``{env: ERPSYNC_SECRET_MAIN_PASSWORD}``, the password of the user ``anna`` (read only
when the user is created) ``{env: ERPSYNC_SECRET_USER_ANNA}``. Ids become names: users by login, groups by name, CRM
list items by label. Everything is listed in a stable order (connectors, users and groups by name, connections by
sync priority, a mapping's fields by rank), so two exports of hubs configured alike are equal files.

Public names: ``export_config(session, cipher)``, ``secret_variable(*parts)``.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from erpsync import accounts
from erpsync.crm import lists as crm_lists
from erpsync.crm.fields import CrmList
from erpsync.crypto import Cipher
from erpsync.storage.tables import ErpConnection, SyncActorMapping
from erpsync.sync.config_file import (
    ActorMappingSpec,
    ConnectionSpec,
    ConnectorSpec,
    DefaultSpec,
    FieldSpec,
    GroupSpec,
    HubConfig,
    ListMappingSpec,
    SecretRef,
    UserSpec,
    VisibilitySpec,
)
from erpsync.sync.configuration import priority_order
from erpsync.sync.configuration_loading import load_config
from erpsync.sync.connection_visibility import visibility_of
from erpsync.sync.connections import stored_secrets
from erpsync.sync.connectors import list_connectors
from erpsync.sync.mapping import ActorTypeMapping, FieldDefault, ListMapping


def export_config(session: Session, cipher: Cipher) -> HubConfig:
    """The hub's configuration (live connections only), secrets as references to environment variables."""
    labels = {
        item.id: item.label
        for crm_list in CrmList
        for item in crm_lists.list_items(session, crm_list, include_deleted=True)
    }
    users = sorted(accounts.list_users(session), key=lambda user: user.login.lower())
    logins = {user.id: user.login for user in users}
    groups = sorted(accounts.list_groups(session), key=lambda group: group.name.lower())
    group_names = {group.id: group.name for group in groups}
    connections = priority_order(session)
    return HubConfig(
        connectors=tuple(
            ConnectorSpec(name=c.name, url=c.url, secret=SecretRef(env=secret_variable("connector", c.name)))
            for c in sorted(list_connectors(session), key=lambda connector: connector.name.lower())
        ),
        connections=tuple(
            _connection_spec(session, cipher, c, labels=labels, logins=logins, group_names=group_names)
            for c in connections
        ),
        priority=tuple(connection.name for connection in connections),
        crm_lists={
            crm_list: tuple(item.label for item in items)
            for crm_list in CrmList
            if (items := crm_lists.list_items(session, crm_list))
        },
        users=tuple(
            UserSpec(
                login=user.login,
                name=user.name,
                admin=user.is_admin,
                licences=tuple(accounts.licences_of(user)),
                active=user.active,
                password=SecretRef(env=secret_variable("user", user.login)),
            )
            for user in users
        ),
        groups=tuple(
            GroupSpec(name=g.name, description=g.description, members=tuple(u.login for u in g.members)) for g in groups
        ),
    )


def secret_variable(*parts: str) -> str:
    """``ERPSYNC_SECRET_`` and the parts in capitals, every run of other characters one underscore."""
    return "ERPSYNC_SECRET_" + "_".join(re.sub(r"[^A-Za-z0-9]+", "_", part).strip("_").upper() for part in parts)


def _connection_spec(
    session: Session,
    cipher: Cipher,
    connection: ErpConnection,
    *,
    labels: dict[int, str],
    logins: dict[int, str],
    group_names: dict[int, str],
) -> ConnectionSpec:
    config = load_config(session, connection)
    visibility = visibility_of(session, connection)
    secrets = {key: SecretRef(env=secret_variable(connection.name, key)) for key in stored_secrets(cipher, connection)}
    rows = session.scalars(select(SyncActorMapping).where(SyncActorMapping.connection_id == connection.id))
    stored_defaults = {row.actor_type: row.defaults_json for row in rows}
    return ConnectionSpec(
        name=connection.name,
        connector=connection.connector.name,
        description=connection.description,
        active=connection.active,
        visibility=VisibilitySpec(
            everyone=visibility.everyone,
            users=tuple(logins[i] for i in visibility.users if i in logins),
            groups=tuple(group_names[i] for i in visibility.groups if i in group_names),
        ),
        config={**connection.config_json, **secrets},
        policy=config.policy,
        no_blank_overwrite=config.no_blank_overwrite,
        mappings={
            actor_type: _mapping_spec(
                mapping,
                {k: FieldDefault.model_validate(v) for k, v in stored_defaults.get(actor_type.value, {}).items()},
            )
            for actor_type, mapping in sorted(config.mappings.items())
        },
        list_mappings={name: _list_spec(lm, labels) for name, lm in sorted(config.list_mappings.items())},
    )


def _mapping_spec(mapping: ActorTypeMapping, defaults: dict[str, FieldDefault]) -> ActorMappingSpec:
    return ActorMappingSpec(
        active=mapping.active,
        fields=tuple(
            FieldSpec(
                erp=row.erp_field,
                crm=row.crm_field,
                direction=row.direction,
                show_in_search=row.show_in_search,
                show_in_tab=row.show_in_tab,
                policy=row.policy,
            )
            for row in sorted(mapping.fields, key=lambda row: row.rank)
        ),
        defaults={key: DefaultSpec(value=d.value, ask_user=d.ask_user) for key, d in sorted(defaults.items())},
        erp_delete=mapping.erp_delete,
        crm_delete=mapping.crm_delete,
        filter=mapping.sync_filter,
        auto_create=mapping.auto_create,
    )


def _list_spec(list_mapping: ListMapping, labels: dict[int, str]) -> ListMappingSpec:
    return ListMappingSpec(
        crm_list=list_mapping.crm_list,
        items={key: None if item is None else labels.get(item) for key, item in sorted(list_mapping.items.items())},
    )
