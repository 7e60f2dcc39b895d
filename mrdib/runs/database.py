"""Opening the database an Optuna study lives in (SQLite in the artifacts folder, PostgreSQL or
any SQLAlchemy URL across machines): heartbeats and the retry of stale trials for workers, plain
reading for reports and the dashboard, and URLs printed without their password."""

from __future__ import annotations

import random
import re
import time
import warnings
from pathlib import Path
from typing import Any

from mrdib.core.errors import MrdibError

DEFAULT_HEARTBEAT = 10  # seconds between heartbeats of a running trial
DEFAULT_GRACE = 60  # seconds without a heartbeat before another worker takes the trial over


def redact(url: str) -> str:
    """Never print or write a database password."""
    return re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", url)


def sqlite_url(path: str | Path) -> str:
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _retry_callback() -> Any:
    import optuna

    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)  # optuna >= 4.9
    if retry is None:
        return "failed_trial_callback", optuna.storages.RetryFailedTrialCallback(
            max_retry=None, inherit_intermediate_values=True)
    return "heartbeat_stale_trial_callback", retry(max_retry=None, inherit_intermediate_values=True)


def database_url(url: str) -> str:
    """The URL SQLAlchemy should open: a plain postgresql:// one gets the driver that is installed
    (SQLAlchemy 2.1 assumes psycopg 3; requirements-dev.txt installs psycopg2-binary)."""
    scheme, sep, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres"):
        return url
    import importlib.util

    for module, driver in (("psycopg", "psycopg"), ("psycopg2", "psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return f"postgresql+{driver}{sep}{rest}"
    raise MrdibError(f"storage {redact(url)}: PostgreSQL needs a driver; pip install psycopg2-binary")


def plain_storage(url: str) -> Any:
    """The storage for reading a study (reports, the dashboard): no heartbeats needed."""
    return open_storage(url, heartbeat=None)


def open_storage(url: str, heartbeat: int | None = DEFAULT_HEARTBEAT, grace: int = DEFAULT_GRACE) -> Any:
    """An Optuna RDB storage with heartbeats and the retry of stale trials; MrdibError in one line
    when the URL's driver is missing or the database cannot be reached."""
    import optuna
    import sqlalchemy

    if heartbeat is not None and (heartbeat < 1 or grace <= heartbeat):
        raise MrdibError(f"--heartbeat must be >= 1 s and --grace longer than it, got {heartbeat} and {grace}")
    shown, url = redact(url), database_url(url)
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # Several worker processes write to one file: wait for the lock instead of failing at once.
        engine_kwargs["connect_args"] = {"timeout": 60}
    else:
        engine_kwargs["pool_pre_ping"] = True
        if url.startswith("postgresql"):
            engine_kwargs["connect_args"] = {"connect_timeout": 20}  # an unreachable host fails, not hangs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        engine: dict[str, Any] = {}
        if heartbeat is not None:
            name, callback = _retry_callback()
            engine = {"heartbeat_interval": int(heartbeat), "grace_period": int(grace), name: callback}
        for attempt in range(6):
            try:
                storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **engine)
                if url.startswith("sqlite"):
                    _serialise_sqlite_writes(storage.engine)
                return storage
            except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError,
                    sqlalchemy.exc.OperationalError) as exc:
                # Workers that start together on an empty database race to create its tables.
                racing = not isinstance(exc, sqlalchemy.exc.OperationalError) or "already exists" in str(exc)
                if not racing or attempt == 5:
                    raise MrdibError(f"storage {shown}: cannot open the database ({first_line(exc)})")
                time.sleep(0.2 + random.random() * (attempt + 1))
            except (sqlalchemy.exc.SQLAlchemyError, ValueError, ImportError) as exc:
                raise MrdibError(f"storage {shown}: cannot open the database ({first_line(exc)})")
    raise AssertionError("unreachable")


def _serialise_sqlite_writes(engine: Any) -> None:
    """Make every SQLite transaction take the database's write lock when it begins.

    Optuna pops a waiting trial by reading it as WAITING and then setting it RUNNING, reading
    `FOR UPDATE`, a row lock SQLite does not have. With pysqlite's deferred transactions two
    workers can both read WAITING before either writes, and both train the same point (seen in
    the kill tests: a second worker waiting on the run folder's lock, then reporting the run as
    its own). `BEGIN IMMEDIATE` (SQLAlchemy's recipe for pysqlite) serialises the read with the
    write; the connect timeout above lets the others wait their turn.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite must not BEGIN by itself

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened while creating the tables predate the listeners


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
