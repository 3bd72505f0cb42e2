"""API fuzzing: schemathesis against /api/v1/openapi.json as a signed-in admin and a normal user: no 500s, every
answer matches the schema. Bounded to a few examples per operation."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from erpsync import accounts
from erpsync.app import create_app
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.testing.server import serve_in_thread

PASSWORD = "a good password"
# Operations that start background work or would sign the fuzzer out are left to their own suites.
EXCLUDED = r"/(auth/token|imports|resync-from-crm|cancel)"


@pytest.fixture(scope="module")
def hub(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("api-fuzz")
    shutil.copyfile(sqlite_template, folder / "erpsync.sqlite")
    database = Database(f"sqlite:///{folder / 'erpsync.sqlite'}")
    with database.session() as session:
        accounts.create_user(session, login="admin", password=PASSWORD, is_admin=True, licences=["erp"])
        accounts.create_user(session, login="user", password=PASSWORD, licences=["erp"])
    settings_ = Settings(data_dir=folder / "data", secret_key=Fernet.generate_key().decode())
    with serve_in_thread(create_app(settings_, database=database)) as url:
        tokens = {
            login: httpx.post(f"{url}/api/v1/auth/token", data={"username": login, "password": PASSWORD}).json()[
                "access_token"
            ]
            for login in ("admin", "user")
        }
        yield url, tokens
    database.dispose()


@pytest.mark.parametrize("login", ["admin", "user"])
def test_the_api_answers_every_generated_request_by_its_schema(hub: tuple[str, dict[str, str]], login: str) -> None:
    url, tokens = hub
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json").exclude(path_regex=EXCLUDED)
    failures = []
    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def check(case: schemathesis.Case) -> None:
            # A 422 for a well-formed request naming records that do not exist is right, so that check is off.
            case.call_and_validate(
                headers={"Authorization": f"Bearer {tokens[login]}"}, excluded_checks=[positive_data_acceptance]
            )

        try:
            check()
        except Exception as error:
            failures.append(f"{op.method.upper()} {op.path}: {str(error)[:400]}")
    assert failures == [], "\n".join(failures)
