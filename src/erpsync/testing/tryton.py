"""A real Tryton ERP for tests: a pinned install in its own venv, a cached template database, servers on free ports.

Everything slow happens once per machine and is cached under ``ERPSYNC_TRYTON_CACHE`` (default
``~/.cache/erpsync``): the venv (~10 s), keyed by the packages it holds, and the initialised template database
(~30 s), keyed by the packages, the modules, the code that seeds it and the year (its fiscal years surround the year
it was built in). A file lock makes it safe for several pytest-xdist workers to start at once.
Each test then copies the template (a single SQLite file) and starts its own ``trytond`` on a free loopback port.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from erpsync.connectors.tryton.rpc import NotTrytonError, TrytonRpc
from erpsync.errors import TransientError
from erpsync.testing import tryton_books
from erpsync.testing.server import free_port

TRYTON_SERIES = "8.2"
PACKAGES = tuple(
    f"{name}=={TRYTON_SERIES}.*"
    for name in (
        "trytond",
        "trytond-party",
        "trytond-company",
        "trytond-currency",
        "trytond-country",
        "trytond-party-relationship",
        "trytond-project",
        "trytond-sale",
        "trytond-purchase",
        "trytond-account-invoice",
        "trytond-account-credit-limit",
    )
)
MODULES = (
    "party",
    "company",
    "party_relationship",
    "project",
    "sale",
    "purchase",
    "account_invoice",
    "account_credit_limit",
)
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin-test-password"
TEMPLATE_DATABASE = "template"
COMPANY_NAME = "Test Company"
COUNTRIES = (("DK", "Denmark"), ("NO", "Norway"), ("SE", "Sweden"), ("DE", "Germany"))
LANGUAGES = ("de",)  # loaded as translatable: Tryton's own German strings of every module, besides English
GERMAN_COUNTRIES = {"DK": "Dänemark", "NO": "Norwegen", "SE": "Schweden", "DE": "Deutschland"}
ROLE_CATEGORIES = ("Customer", "Supplier")  # how the test company files its customers and suppliers
WORKS_FOR, EMPLOYS = "Works for", "Employs"  # its relation type from a contact person to the person's company
STARTUP_TIMEOUT = 60.0
PORT_ATTEMPTS = 3


@dataclass(frozen=True)
class TrytonServer:
    """A running trytond serving one database, and the credentials of its administrator."""

    url: str
    database: str
    login: str
    password: str
    company_id: int
    database_path: Path  # the SQLite file trytond serves, for tests that look at what Tryton stored underneath

    def config(self) -> dict[str, str | int | float | bool | None]:
        """The Tryton connector's config values for this server."""
        return {
            "url": self.url,
            "database": self.database,
            "user": self.login,
            "password": self.password,
            "company": self.company_id,
            "customers": "category",
            "customer_category": ROLE_CATEGORIES[0],
            "suppliers": "category",
            "supplier_category": ROLE_CATEGORIES[1],
            "person_relation": WORKS_FOR,
        }

    def rpc(self) -> TrytonRpc:
        """A logged-in JSON-RPC client, for tests that act on Tryton directly (as another user would)."""
        rpc = TrytonRpc(self.url, self.database)
        rpc.login(self.login, self.password)
        return rpc


def cache_dir() -> Path:
    return Path(os.environ.get("ERPSYNC_TRYTON_CACHE", Path.home() / ".cache" / "erpsync"))


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing); other processes wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_venv(cache: Path) -> Path:
    """The venv holding pinned Tryton, installed on first use; returns its ``bin`` folder."""
    venv = cache / f"tryton-{TRYTON_SERIES}-{_digest(*PACKAGES)}-venv"
    stamp = venv / ".erpsync-installed"
    with file_lock(cache / f"tryton-{TRYTON_SERIES}.lock"):
        if not stamp.exists():
            shutil.rmtree(venv, ignore_errors=True)
            _run([_base_python(), "-m", "venv", str(venv)])
            _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *PACKAGES])
            stamp.touch()
    return venv / "bin"


def ensure_template(cache: Path, bin_dir: Path) -> Path:
    """The initialised template database file, built on first use; returns its path."""
    year = dt.date.today().year
    template = cache / f"tryton-{TRYTON_SERIES}-{_template_key()}-{year}-{TEMPLATE_DATABASE}.sqlite"
    with file_lock(cache / f"tryton-{TRYTON_SERIES}.lock"):
        if not template.exists():
            with tempfile.TemporaryDirectory(prefix="tryton-template-") as work:
                built = _build_template(Path(work), bin_dir)
                shutil.copyfile(built, template.with_suffix(".tmp"))
                template.with_suffix(".tmp").rename(template)
    return template


@contextmanager
def tryton_server(*, bin_dir: Path, template: Path, workdir: Path) -> Iterator[TrytonServer]:
    """Copy the template into ``workdir`` and serve it with trytond until the block ends."""
    database = "erp"
    path = workdir / f"{database}.sqlite"
    shutil.copyfile(template, path)
    with _running_trytond(bin_dir, workdir, database) as url:
        yield TrytonServer(url, database, ADMIN_LOGIN, ADMIN_PASSWORD, _company_id(url, database), path)


def _build_template(workdir: Path, bin_dir: Path) -> Path:
    conf = _write_config(workdir, port=free_port())
    (workdir / f"{TEMPLATE_DATABASE}.sqlite").touch()
    passfile = workdir / "admin-password"
    passfile.write_text(ADMIN_PASSWORD)
    env = {**os.environ, "TRYTONPASSFILE": str(passfile)}
    modules = ["-u", *MODULES, "-l", *LANGUAGES]  # -l: the languages' translations load and become translatable
    admin = [str(bin_dir / "trytond-admin"), "-c", str(conf), "-d", TEMPLATE_DATABASE]
    _run([*admin, "--email", "admin@example.com", "--activate-dependencies", *modules], env=env)
    with _running_trytond(bin_dir, workdir, TEMPLATE_DATABASE) as url:
        _seed(url)
    database = workdir / f"{TEMPLATE_DATABASE}.sqlite"
    _checkpoint(database)
    return database


def _template_key() -> str:
    """What the template's content depends on: the packages, the modules and the code that seeds it."""
    sources = (Path(__file__).read_text(), Path(tryton_books.__file__).read_text())
    return _digest(*PACKAGES, *MODULES, *sources)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def _seed(url: str) -> None:
    """Create what every test needs: a currency, a company (the admin's), a few countries (named in German too), the
    categories of customers and suppliers, the relation type of contact persons, and the books sales and invoices
    need."""
    with TrytonRpc(url, TEMPLATE_DATABASE) as rpc:
        rpc.login(ADMIN_LOGIN, ADMIN_PASSWORD)
        countries = rpc.create("country.country", [{"code": code, "name": name} for code, name in COUNTRIES])
        for country, (code, _name) in zip(countries, COUNTRIES, strict=True):  # as trytond_import_countries does
            rpc.write("country.country", [country], {"name": GERMAN_COUNTRIES[code]}, context={"language": "de"})
        (currency,) = rpc.create("currency.currency", [{"code": "EUR", "name": "Euro", "symbol": "€"}])
        (party,) = rpc.create("party.party", [{"name": COMPANY_NAME}])
        (company,) = rpc.create("company.company", [{"party": party, "currency": currency}])
        user_id = rpc.user_id
        rpc.write("res.user", [user_id], {"companies": [["add", [company]]], "company": company})
        rpc.create("party.category", [{"name": name} for name in ROLE_CATEGORIES])
        works_for, employs = rpc.create("party.relation.type", [{"name": WORKS_FOR}, {"name": EMPLOYS}])
        rpc.write("party.relation.type", [works_for], {"reverse": employs})
        rpc.write("party.relation.type", [employs], {"reverse": works_for})
        rpc.login(ADMIN_LOGIN, ADMIN_PASSWORD)  # again: the context now carries the company
        tryton_books.seed_books(rpc, company, today=dt.date.today())


def _checkpoint(database: Path) -> None:
    """Fold SQLite's write-ahead log into the database file, so that copying the one file copies everything."""
    with closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _company_id(url: str, database: str) -> int:
    with TrytonRpc(url, database) as rpc:
        rpc.login(ADMIN_LOGIN, ADMIN_PASSWORD)
        company: int = rpc.context["company"]
        return company


@contextmanager
def _running_trytond(bin_dir: Path, workdir: Path, database: str) -> Iterator[str]:
    process, url = _start_trytond(bin_dir, workdir, database)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start_trytond(bin_dir: Path, workdir: Path, database: str) -> tuple[subprocess.Popen[bytes], str]:
    """trytond serving on a free port. Between choosing a port and binding it another process may take it (tests run
    in parallel): trytond then exits, and another port is tried."""
    for _attempt in range(PORT_ATTEMPTS):
        port = free_port()
        conf = _write_config(workdir, port=port)
        with (workdir / f"trytond-{port}.log").open("wb") as log:
            process = subprocess.Popen(
                [str(bin_dir / "trytond"), "-c", str(conf), "-d", database],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        if _serving(url, process):
            return process, url
    raise RuntimeError(f"trytond could not bind a free port in {PORT_ATTEMPTS} attempts (see {workdir})")


def _serving(url: str, process: subprocess.Popen[bytes]) -> bool:
    """Wait until trytond answers on ``url``: True, or False when it exited first (its port was taken)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            TrytonRpc.server_version(url)
        except (TransientError, NotTrytonError):  # not up yet, or another server holds the port until trytond exits
            time.sleep(0.1)
        else:
            return True
    process.kill()
    process.wait()
    raise RuntimeError(f"trytond did not answer on {url} within {STARTUP_TIMEOUT} s")


def _write_config(workdir: Path, *, port: int) -> Path:
    conf = workdir / f"trytond-{port}.conf"
    conf.write_text(
        "[database]\nuri = sqlite://\n"
        f"path = {workdir}\n"
        f"[web]\nlisten = 127.0.0.1:{port}\n"
        "[session]\nauthentications = password\n"
    )
    return conf


def _run(command: list[str], *, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).decode(errors="replace")[-4000:]
        raise RuntimeError(f"{command[0]} failed with {result.returncode}:\n{output}")


def _base_python() -> str:
    """The interpreter to build the Tryton venv from: the one running us, outside any venv."""
    return str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}")
