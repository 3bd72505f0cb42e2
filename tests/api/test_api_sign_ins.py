"""Who holds a bearer token is kept a few seconds per process (``erpsync.sign_ins``): a change that ends or alters a
sign-in counts at once in the process that made it; one made behind the hub's back (another process) within the
cache's seconds; never past the token's own expiry."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import httpx
from sqlalchemy import delete

from erpsync import accounts, sign_ins
from erpsync.app import create_app
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.storage.tables import ApiToken, User
from erpsync.testing.server import serve_in_thread

from .conftest import PASSWORD, Hub


def _answered(client: httpx.Client, path: str = "/me") -> int:
    return client.get(path).status_code


def test_a_deactivated_users_token_is_refused_at_once(hub: Hub, admin: httpx.Client) -> None:
    user_id = hub.add_user("ann", licences=("erp",))
    with hub.sign_in("ann") as ann:
        assert _answered(ann) == 200  # now kept
        assert admin.patch(f"/users/{user_id}", json={"active": False}).status_code == 200
        assert ann.get("/me").json() == {"detail": "invalid or expired token"}


def test_a_new_password_ends_the_old_token_at_once(hub: Hub, admin: httpx.Client) -> None:
    user_id = hub.add_user("bob")
    with hub.sign_in("bob") as bob:
        assert _answered(bob) == 200
        assert admin.patch(f"/users/{user_id}", json={"password": "another good password"}).status_code == 200
        assert _answered(bob) == 401


def test_a_deleted_user_and_a_revoked_token_are_refused_at_once(hub: Hub, admin: httpx.Client) -> None:
    carl_id = hub.add_user("carl")
    hub.add_user("dora")
    with hub.sign_in("carl") as carl, hub.sign_in("dora") as dora:
        assert (_answered(carl), _answered(dora)) == (200, 200)
        assert admin.delete(f"/users/{carl_id}").status_code == 204
        assert _answered(carl) == 401
        token = dora.headers["Authorization"].removeprefix("Bearer ")
        with hub.database.session() as session:
            accounts.revoke_token(session, token)
        assert _answered(dora) == 401


def test_a_role_taken_away_counts_at_once(hub: Hub, admin: httpx.Client) -> None:
    eve_id = hub.add_user("eve", is_admin=True)
    with hub.sign_in("eve") as eve:
        assert _answered(eve, "/users") == 200
        assert admin.patch(f"/users/{eve_id}", json={"is_admin": False}).status_code == 200
        assert _answered(eve, "/users") == 403
        assert eve.get("/me").json()["is_admin"] is False


def test_a_change_behind_the_hubs_back_counts_within_the_cache_seconds(database: Database, tmp_path: Path) -> None:
    """A token deleted without ``accounts`` (as another process's change looks to this one): kept a moment by the
    default hub, refused at once by one whose cache is off."""
    with database.session() as session:
        user_id = accounts.create_user(session, login="fay", password=PASSWORD).id
    for seconds, expected in ((60.0, 200), (0.0, 401)):
        with database.session() as session:
            token = accounts.issue_token(session, accounts.get_user(session, user_id))
        settings = Settings(data_dir=tmp_path / "data", sign_in_cache_seconds=seconds)
        with (
            serve_in_thread(create_app(settings, database=database)) as url,
            httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}) as client,
        ):
            assert _answered(client) == 200
            with database.session() as session:
                session.execute(delete(ApiToken))
            assert _answered(client) == expected, seconds


def test_a_token_is_never_kept_past_its_expiry(hub: Hub) -> None:
    gus_id = hub.add_user("gus")
    with hub.database.session() as session:
        token = accounts.issue_token(session, accounts.get_user(session, gus_id), lifetime=dt.timedelta(seconds=1.5))
    with hub.client(token) as gus:
        assert _answered(gus) == 200
        time.sleep(1.6)
        assert _answered(gus) == 401


def test_a_read_older_than_a_change_is_not_kept() -> None:
    cache = sign_ins.SignInCache(seconds=60)
    user = User(id=7, login="hal", name="", password_hash="x", is_admin=False, licences="", active=True)
    since = sign_ins.generation()
    sign_ins.forget_all()  # a change committed while the user was being read
    cache.keep("token", user, seconds_left=3600, since=since)
    assert cache.user("token") is None
    cache.keep("token", user, seconds_left=3600, since=sign_ins.generation())
    kept = cache.user("token")
    assert kept is not None
    assert kept is not user
    assert (kept.id, kept.login) == (7, "hal")
    sign_ins.forget_all()
    assert cache.user("token") is None
