"""Sign-in rules without a server: the client's address behind proxies, the time an unknown login costs, the demo's
passwords, prod settings that refuse weak secrets, and the modes of the files in the data folder."""

from __future__ import annotations

import ipaddress
import os
import stat
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError as SettingsError
from sqlalchemy import text

from erpsync import accounts, crypto, demo
from erpsync.logins import LoginLimiter, client_address
from erpsync.settings import MIN_SECRET_BYTES, Settings
from erpsync.storage.db import Database
from erpsync.storage.migrate import upgrade
from erpsync.testing.db import database, postgres_url
from erpsync.testing.services import REDIS_URL, ensure_redis_running, unique_namespace

from .conftest import PASSWORD

__all__ = ["database", "postgres_url"]

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))
STRONG = "k" * MIN_SECRET_BYTES


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the client's address -------------------------------------------------------------------------------------------


def test_forwarded_for_counts_only_from_a_trusted_proxy() -> None:
    assert client_address("198.51.100.1", ["203.0.113.9"], PROXIES) == "198.51.100.1"
    assert client_address("198.51.100.1", ["203.0.113.9"], ()) == "198.51.100.1"
    assert client_address("10.0.0.2", [], PROXIES) == "10.0.0.2"
    assert client_address("10.0.0.2", ["203.0.113.9"], PROXIES) == "203.0.113.9"
    assert client_address("::1", ["203.0.113.9"], PROXIES) == "203.0.113.9"
    assert client_address(None, ["203.0.113.9"], PROXIES) == "unknown"


def test_forwarded_for_is_read_from_the_proxy_backwards() -> None:
    # Whatever the client wrote comes first; each trusted proxy appends the address it saw.
    assert client_address("10.0.0.2", ["1.1.1.1, 203.0.113.9, 10.0.0.3"], PROXIES) == "203.0.113.9"
    assert client_address("10.0.0.2", ["1.1.1.1", "203.0.113.9"], PROXIES) == "203.0.113.9"
    assert client_address("10.0.0.2", ["not-an-address, 203.0.113.9"], PROXIES) == "203.0.113.9"
    assert client_address("10.0.0.2", ["203.0.113.9, garbage"], PROXIES) == "10.0.0.2"
    assert client_address("10.0.0.2", ["10.0.0.5, 10.0.0.3"], PROXIES) == "10.0.0.5"


def test_bad_trusted_proxies_are_refused() -> None:
    with pytest.raises(SettingsError, match="ERPSYNC_TRUSTED_PROXIES"):
        Settings(trusted_proxies="10.0.0.0/8, proxy.example")
    assert Settings(trusted_proxies=" 10.0.0.0/8 ,::1").trusted_proxy_networks == PROXIES


def test_the_limiter_counts_addresses_and_logins_apart() -> None:
    limiter = LoginLimiter(per_address="4/minute", per_account="2/hour")
    assert [limiter.admit(address="a", login=f"x{n}") for n in range(4)] == [0.0] * 4
    assert limiter.admit(address="a", login="x9") >= 1
    assert limiter.admit(address="b", login="Ann") == 0.0
    limiter.failed(login="ann")
    limiter.failed(login=" ANN")
    assert limiter.admit(address="c", login="ann") >= 1  # the same name, however it is typed
    assert limiter.admit(address="c", login="ann", failed_before=False) == 0.0  # from an address that never failed
    assert limiter.admit(address="c", login="bob") == 0.0
    limiter.clear_account("Ann")
    assert limiter.admit(address="d", login="ann") == 0.0


def test_with_redis_every_process_shares_the_counts_and_the_cli_unlock_reaches_them() -> None:
    ensure_redis_running()
    settings = Settings(redis_url=REDIS_URL, login_limit="2/minute", login_account_limit="1/hour")
    api, web, cli = (LoginLimiter.from_settings(settings) for _ in range(3))  # three processes' limiters
    address, login = unique_namespace(), unique_namespace()
    assert api.admit(address=address, login="x") == 0.0
    assert web.admit(address=address, login="y") == 0.0
    assert api.admit(address=address, login="z") >= 1
    api.failed(login=login)
    assert web.admit(address=unique_namespace(), login=login) >= 1
    cli.clear_account(login)
    assert web.admit(address=unique_namespace(), login=login) == 0.0


def test_bad_limits_are_refused() -> None:
    with pytest.raises(SettingsError, match="not a rate limit"):
        Settings(login_limit="often")


# --- the same time for unknown logins --------------------------------------------------------------------------------


def test_an_unknown_login_costs_as_much_time_as_a_wrong_password(database: Database) -> None:
    with database.session() as session:
        accounts.create_user(session, login="ann", password=PASSWORD)

    def seconds(login: str) -> float:
        spent = []
        for n in range(accounts.FREE_FAILURES):  # below the throttle: every attempt checks a password
            with database.session() as session:
                started = time.perf_counter()
                with pytest.raises(accounts.LoginFailedError):
                    accounts.authenticate(session, login, "not the password", address=f"{login}-{n}")
                spent.append(time.perf_counter() - started)
        return statistics.median(spent)

    seconds("warm-up")
    known, unknown = seconds("ann"), seconds("nobody")
    assert unknown > known / 3, (known, unknown)  # without the dummy hash, unknown would be ~100 times faster


# --- passwords of the demo -------------------------------------------------------------------------------------------


def test_the_demo_passwords_pass_the_rules() -> None:
    for login, password, *_ in demo.DEMO_USERS:
        accounts.check_password(password, login=login)


# --- prod settings ---------------------------------------------------------------------------------------------------


def test_prod_refuses_a_generated_key() -> None:
    with pytest.raises(SettingsError, match="ERPSYNC_SECRET_KEY must be set"):
        Settings(env="prod")


@pytest.mark.parametrize("secret", ["x", "k" * (MIN_SECRET_BYTES - 1), "æ" * 15])
def test_prod_refuses_short_secrets(secret: str) -> None:
    with pytest.raises(SettingsError, match=f"ERPSYNC_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes"):
        Settings(env="prod", secret_key=secret)
    with pytest.raises(SettingsError, match=f"ERPSYNC_CONNECTOR_SECRET must be at least {MIN_SECRET_BYTES} bytes"):
        Settings(env="prod", secret_key=STRONG, connector_secret=secret)


def test_prod_accepts_strong_secrets_and_dev_anything() -> None:
    assert Settings(env="prod", secret_key=STRONG, connector_secret="æ" * 16).env == "prod"
    assert Settings(env="dev", secret_key="x", connector_secret="x").secret_key == "x"
    with pytest.raises(SettingsError, match="'dev' or 'prod'"):
        Settings(env="production")


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"ERPSYNC_SECRET_KEY": "x"}, "ERPSYNC_SECRET_KEY"),
        ({}, "ERPSYNC_SECRET_KEY"),
        ({"ERPSYNC_SECRET_KEY": STRONG, "ERPSYNC_CONNECTOR_SECRET": "short"}, "ERPSYNC_CONNECTOR_SECRET"),
    ],
)
def test_the_hub_does_not_start_in_prod_with_weak_secrets(
    tmp_path: Path, environment: dict[str, str], named: str
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ERPSYNC_")}
    env |= {"ERPSYNC_ENV": "prod", "ERPSYNC_DATA_DIR": str(tmp_path / "data"), **environment}
    command = [str(Path(sys.executable).parent / "erpsync"), "serve", "--port", "1"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert named in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was created


# --- file modes ------------------------------------------------------------------------------------------------------


def test_the_data_folder_database_and_keys_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    database = Database(Settings(data_dir=data).effective_database_url)
    upgrade(database.engine)
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE probe (x INTEGER)"))
        wal, shm = data / "erpsync.sqlite-wal", data / "erpsync.sqlite-shm"
        assert wal.exists()
        assert shm.exists()
        assert (_mode(wal), _mode(shm)) == (0o600, 0o600)
    assert _mode(data) == 0o700
    assert _mode(data / "erpsync.sqlite") == 0o600
    database.dispose()
    crypto.cipher_for(Settings(data_dir=data))
    assert _mode(data / crypto.KEY_FILE_NAME) == 0o600
    demo.connector_secret(data)
    assert _mode(data / demo.SECRET_FILE) == 0o600


def test_files_left_readable_by_an_older_version_are_closed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    for name in ("erpsync.sqlite", "erpsync.sqlite-wal", crypto.KEY_FILE_NAME, demo.SECRET_FILE):
        (data / name).touch()
        (data / name).chmod(0o644)
    (data / crypto.KEY_FILE_NAME).write_text(Fernet.generate_key().decode())
    (data / demo.SECRET_FILE).write_text("s" * 32)
    Database(f"sqlite:///{data / 'erpsync.sqlite'}").dispose()
    crypto.cipher_for(Settings(data_dir=data))
    assert demo.connector_secret(data) == "s" * 32
    assert _mode(data) == 0o700
    for name in ("erpsync.sqlite", "erpsync.sqlite-wal", crypto.KEY_FILE_NAME, demo.SECRET_FILE):
        assert _mode(data / name) == 0o600, name
