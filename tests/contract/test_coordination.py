"""One contract for every Coordinator: PostgreSQL advisory locks, flock files, in memory.

Two coordinators on the same backend stand for two dialer nodes: only one holds a name;
release, close or the holder's death frees it, and the other then gets it.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from local_services import fresh_database
from sqlalchemy import create_engine, text

from dialer.storage.coordination import (
    Coordinator,
    FileCoordinator,
    MemoryCoordinator,
    MemoryLocks,
    PgCoordinator,
    lock_key,
    open_coordinator,
)

REPO = Path(__file__).resolve().parents[2]


def _fresh_postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    with fresh_database(request.getfixturevalue("postgres_url"), "coord") as url:
        yield url


@dataclass
class Backend:
    """Makes coordinators sharing one lock space; ``kill`` makes one lose its locks the way
    its process dying would."""

    kind: str
    make: Callable[[], Coordinator]
    kill: Callable[[Coordinator], None]
    db_url: str | None = None


@pytest.fixture(params=["memory", "file", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made: list[Coordinator] = []

    def remember(factory: Callable[[], Coordinator]) -> Callable[[], Coordinator]:
        def make() -> Coordinator:
            made.append(factory())
            return made[-1]

        return make

    if request.param == "memory":
        locks = MemoryLocks()
        yield Backend("memory", remember(lambda: MemoryCoordinator(locks)), locks.drop_all)
    elif request.param == "file":
        db = tmp_path / "dialer.db"
        url = f"sqlite:///{db}"
        yield Backend("file", remember(lambda: open_coordinator(url)), _close_fds, url)
    else:
        for url in _fresh_postgres(request):
            pg_url = url
            yield Backend(
                "postgresql",
                remember(functools.partial(PgCoordinator, pg_url)),
                _terminate_backend(pg_url),
                pg_url,
            )
            for coordinator in made:
                coordinator.close()
    for coordinator in made:
        coordinator.close()


def _close_fds(coordinator: Coordinator) -> None:
    """What the kernel does to a dead process's descriptors (and so to its flocks)."""
    assert isinstance(coordinator, FileCoordinator)
    for fd in list(vars(coordinator)["_held"].values()):
        os.close(fd)
    vars(coordinator)["_held"].clear()


def _terminate_backend(url: str) -> Callable[[Coordinator], None]:
    def kill(coordinator: Coordinator) -> None:
        """The holder's connection dies (PostgreSQL restarted, network gone)."""
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name LIKE 'callback-dialer-coordination%'"
                    " AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')"
                    " AND pid <> pg_backend_pid()"
                )
            )
        admin.dispose()

    return kill


def test_only_one_coordinator_holds_a_name(backend: Backend) -> None:
    a, b = backend.make(), backend.make()
    assert a.try_acquire("leader:it")
    assert not b.try_acquire("leader:it")
    assert a.holds("leader:it")
    assert not b.holds("leader:it")
    assert a.try_acquire("leader:it"), "taking a name held already is idempotent"


def test_names_are_independent(backend: Backend) -> None:
    a, b = backend.make(), backend.make()
    assert a.try_acquire("server:ast-1")
    assert b.try_acquire("server:ast-2")
    assert not a.try_acquire("server:ast-2")
    assert a.holds("server:ast-1") and b.holds("server:ast-2")
    assert not a.holds("server:ast-2")


def test_release_frees_the_name_for_the_other(backend: Backend) -> None:
    a, b = backend.make(), backend.make()
    assert a.try_acquire("leader:it")
    a.release("leader:it")
    assert not a.holds("leader:it")
    assert b.try_acquire("leader:it")
    assert not a.try_acquire("leader:it")
    a.release("leader:it")  # releasing what one does not hold changes nothing
    assert b.holds("leader:it")


def test_close_frees_every_name(backend: Backend) -> None:
    a, b = backend.make(), backend.make()
    assert a.try_acquire("leader:it") and a.try_acquire("server:ast-1")
    a.close()
    assert b.try_acquire("leader:it") and b.try_acquire("server:ast-1")


def test_is_held_tells_whether_any_node_holds_a_name_without_taking_it(backend: Backend) -> None:
    """What the leader asks for each server to find the ones nobody serves (issue 13,
    item 10): held by another, held by itself, free, and free again after the holder died."""
    a, b = backend.make(), backend.make()
    assert not b.is_held("server:ast-1:it")
    assert a.try_acquire("server:ast-1:it")
    assert b.is_held("server:ast-1:it") and a.is_held("server:ast-1:it")
    assert not b.holds("server:ast-1:it"), "asking must not take the lock"
    backend.kill(a)
    assert not b.is_held("server:ast-1:it")
    assert b.try_acquire("server:ast-1:it"), "asking must not keep the lock either"


def test_a_holder_that_loses_its_lock_knows_it_and_the_other_takes_over(
    backend: Backend,
) -> None:
    a, b = backend.make(), backend.make()
    assert a.try_acquire("leader:it")
    backend.kill(a)
    assert not a.holds("leader:it"), "a lost lock must never be assumed held"
    assert b.try_acquire("leader:it")
    assert not a.try_acquire("leader:it")


_HOLDER = """
import sys, time
from dialer.storage.coordination import open_coordinator
coordinator = open_coordinator(sys.argv[1])
assert coordinator.try_acquire(sys.argv[2])
print("held", flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("kind", ["file", "postgresql"])
def test_a_sigkilled_holder_process_frees_the_lock_within_seconds(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    urls = iter([f"sqlite:///{tmp_path}/dialer.db"]) if kind == "file" else _fresh_postgres(request)
    for url in urls:
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, url, "leader:it"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        other = open_coordinator(url)
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "held"
            assert not other.try_acquire("leader:it")
            holder.send_signal(signal.SIGKILL)
            holder.wait(10)
            killed = time.monotonic()
            while not other.try_acquire("leader:it"):
                assert time.monotonic() - killed < 5, "lock not freed 5 s after SIGKILL"
                time.sleep(0.05)
            assert other.holds("leader:it")
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait(10)
            other.close()


def test_keys_are_stable_64_bit_and_distinct() -> None:
    assert lock_key("leader:it") == lock_key("leader:it")
    assert lock_key("leader:it") != lock_key("leader:it2")
    assert -(2**63) <= lock_key("server:ast-1") < 2**63


def test_the_adapter_follows_the_database_url(tmp_path: Path) -> None:
    assert isinstance(open_coordinator(f"sqlite:///{tmp_path}/x.db"), FileCoordinator)
    assert isinstance(open_coordinator("sqlite://"), MemoryCoordinator)
    assert isinstance(open_coordinator("postgresql+psycopg://u@127.0.0.1:1/db"), PgCoordinator)
