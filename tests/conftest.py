"""Test fixtures. Every database test runs on both engines:

- ``sqlite``: a real file, copied from one migrated once per run;
- ``postgresql``: a database cloned (CREATE DATABASE ... TEMPLATE) from one migrated once per run,
  on the server named by ``GATHERING_TEST_POSTGRES_URL`` (an admin URL such as
  ``postgresql://postgres@127.0.0.1:5432/postgres``). Without it the PostgreSQL runs are skipped,
  except under CI (``CI`` set), where a missing or unreachable server fails the run loudly.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import jinja2
import jinja2.bccache
import pytest
from starlette.applications import Starlette

from gathering.app import create_app
from gathering.auth.passwords import use_hash_cost
from gathering.core import migrate
from gathering.core.database import Database
from gathering.core.settings import Settings

REPO = Path(__file__).resolve().parent.parent
PG_ENV = "GATHERING_TEST_POSTGRES_URL"
TEST_SECRET = "test-secret-key-that-is-long-enough"
RUN_ID = uuid.uuid4().hex[:8]


# The longest tests first: under xdist (``make test``) the workers take tests in collection order,
# so a browser test or a killed server left to the end keeps one worker busy while the other has
# finished. Within a group the order is unchanged.
_FIRST = ("tests/e2e/", "tests/i18n/test_site_header_phone.py", "tests/faults/")
_SLOW_FILES = (
    "tests/integration/test_calendar_readers.py",
    "tests/integration/test_fediverse_delivery.py",
    "tests/integration/test_speaker_notices.py",
    "tests/integration/test_erasure_bytes.py",
    "tests/integration/test_cli.py",
    "tests/integration/test_api_models.py",
    "tests/integration/test_stewarding.py",
    "tests/integration/test_app.py",
    "tests/unit/test_calendar_writer.py",
    "tests/unit/test_fold.py",
)
# Modules whose module-scoped fixtures are costly (a Chromium each; the fuzzed demo servers) run
# on one worker, which then starts them once, not once on each worker.
_ONE_WORKER = ("tests/e2e/", "tests/i18n/test_site_header_phone.py", "tests/faults/test_fuzz.py")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(REPO).as_posix()
        for n, prefix in enumerate(_FIRST):
            if path.startswith(prefix):
                return n
        return len(_FIRST) if path in _SLOW_FILES else len(_FIRST) + 1

    items.sort(key=rank)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``--dist load`` (the default with ``--numprocesses``) with the modules of ``_ONE_WORKER``
    each sent whole to one worker (xdist's ``loadgroup`` cannot: it renames test ids, which
    pytest 9 no longer lets it). Every other test is scheduled on its own, as ``load`` does."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class _Scheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if path.startswith(_ONE_WORKER) else nodeid

    return _Scheduling(config, log)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def cheap_password_hashes() -> None:
    """argon2 at the test cost (thousands of times cheaper), also for tests that never build an
    app; a test that builds one with its own Settings gets that setting's cost."""
    use_hash_cost("test")


def _pg_admin_dsn() -> str | None:
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        return None
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _sa_url(dsn: str, database: str) -> str:
    base = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    return base.rsplit("/", 1)[0] + "/" + database


async def _pg_execute(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _migrate(url: str, revision: str = "head") -> None:
    db = Database(url)
    try:
        await migrate.upgrade(db, revision)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[tuple[str, str]]:
    dsn = _pg_admin_dsn()
    if dsn is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {PG_ENV} is not: the PostgreSQL runs cannot be skipped")
        pytest.skip(f"PostgreSQL not configured ({PG_ENV} unset)")
    name = f"gathering_template_{RUN_ID}"
    try:
        asyncio.run(
            _pg_execute(dsn, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_ENV} is unreachable under CI: {error}")
        pytest.skip(f"PostgreSQL unreachable: {error}")
    asyncio.run(_migrate(_sa_url(dsn, name)))
    yield dsn, name
    asyncio.run(_pg_execute(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# What a test could change in a database besides its rows: tables, columns, constraints,
# indexes, triggers, functions, schemas, extensions, its settings and its schema revision.
_SHAPE = """
SELECT md5(string_agg(part, ',' ORDER BY part)) FROM (
  SELECT format('%s.%s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                a.attnotnull) AS part
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT format('constraint %s %s', conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT format('index %s', pg_get_indexdef(indexrelid))
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
   WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT format('trigger %s %s', tgname, tgenabled)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
   WHERE c.relnamespace = 'public'::regnamespace AND NOT tgisinternal
  UNION ALL SELECT format('function %s %s', p.oid::regprocedure, md5(prosrc))
    FROM pg_proc p WHERE pronamespace = 'public'::regnamespace
  UNION ALL SELECT format('schema %s', nspname) FROM pg_namespace
  UNION ALL SELECT format('extension %s', extname) FROM pg_extension
  UNION ALL SELECT format('setting %s', setconfig) FROM pg_db_role_setting
   WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
  UNION ALL SELECT format('revision %s', version_num) FROM alembic_version
) AS shape
"""
# The tables holding rows (or the space of deleted ones), and the sequences a test advanced.
_WRITTEN = """
SELECT relname FROM pg_class
 WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
   AND relname <> 'alembic_version' AND pg_relation_size(oid) > 0
"""
# The planner's statistics of the tables and indexes, as the template has them (tables never
# gathered: -1 rows). A VACUUM records the emptied tables as holding none, and with autovacuum
# off the planner would then plan the next test's queries for empty tables (nested loops over
# thousands of rows), and differently from a fresh clone.
_STATISTICS = """
SELECT json_agg(json_build_object('oid', oid, 'relpages', relpages, 'reltuples', reltuples,
                                  'relallvisible', relallvisible))
  FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i')
"""
_PUT_STATISTICS = """
UPDATE pg_class AS c SET relpages = s.relpages, reltuples = s.reltuples,
       relallvisible = s.relallvisible
  FROM json_populate_recordset(NULL::pg_class, $1::json) AS s WHERE c.oid = s.oid
"""
_RESTART = """
SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)
  FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL
"""


class _Databases:
    """The PostgreSQL test databases of one worker, made and emptied on one thread of their own.

    A database is cloned from the template once and then serves test after test: after each
    test it is emptied (on the thread, while the next test runs on the other database) back to
    the template's state: its rows deleted, the rows the migrations wrote put back, its
    sequences restarted. A clone wrote the whole template (10 MB) to PostgreSQL's log, and with
    ``wal_recycle`` off (test_erasure_bytes, as a deployment sets it) every 16 MB of log is a
    new file written full of zeros first: a clone took 0.1 to 0.5 s, emptying takes 0.01. A
    database whose shape a test changed (a table, a column, a setting, the revision...) is
    dropped and cloned afresh, as is every database of a test that reads the server's files
    (``durable_commits``)."""

    def __init__(self, dsn: str, template: str) -> None:
        self.dsn, self.template = dsn, template
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-databases")
        self.clean: deque[Future[str]] = deque()
        self.throwaway: set[str] = set()  # dropped after their test
        self.done: list[Future[object]] = []
        self.shape = ""
        self.seeded: dict[str, str] = {}  # the template's rows, by table, as JSON
        self.statistics = ""  # the template's planner statistics (_STATISTICS), as JSON

    def _url(self, name: str) -> str:
        return self.dsn.rsplit("/", 1)[0] + "/" + name

    def _clone(self, *, asynchronous_commit: bool = True) -> str:
        name = f"gathering_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
        statements = [f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"']
        if asynchronous_commit:
            statements.append(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        asyncio.run(_pg_execute(self.dsn, *statements))
        if asynchronous_commit and not self.shape:
            asyncio.run(self._learn(name))
        return name

    async def _learn(self, name: str) -> None:
        """The template's shape and rows, read from its first clone."""
        conn = await asyncpg.connect(self._url(name), timeout=5)
        try:
            self.shape = await conn.fetchval(_SHAPE)
            self.statistics = await conn.fetchval(_STATISTICS)
            for (table,) in await conn.fetch(_WRITTEN):
                self.seeded[table] = await conn.fetchval(f'SELECT json_agg(t) FROM "{table}" t')
        finally:
            await conn.close()

    async def _emptied(self, name: str) -> bool:
        """Empty ``name`` back to the template's state; False if its shape differs.

        Rows are deleted, not truncated: a TRUNCATE gives every table and index a new file and
        drops the old one's pages from the server's whole buffer cache, 0.3 to 0.4 s of the
        server's CPU for the suite's few rows, against 0.01 s for DELETE. Foreign keys are
        not checked while the tables are emptied (``session_replication_role``), so the
        order does not matter, and a VACUUM then makes the deleted rows' space reusable (the
        server's autovacuum may be off, as it is in CI); the planner's statistics are put back
        as the template has them (``_STATISTICS``). Both need a superuser, as CI's is."""
        await _pg_execute(
            self.dsn,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{name}' AND pid <> pg_backend_pid()",
        )
        conn = await asyncpg.connect(self._url(name), timeout=5)
        try:
            if await conn.fetchval(_SHAPE) != self.shape:
                return False
            # The template's own rows are deleted with the rest and put back.
            tables = sorted({row[0] for row in await conn.fetch(_WRITTEN)} | set(self.seeded))
            async with conn.transaction():
                await conn.execute("SET LOCAL session_replication_role = replica")
                for table in tables:
                    await conn.execute(f'DELETE FROM "{table}"')
                for table, rows in self.seeded.items():
                    await conn.execute(
                        f'INSERT INTO "{table}" SELECT * FROM json_populate_recordset('
                        f'NULL::"{table}", $1::json)',
                        rows,
                    )
                await conn.execute(_RESTART)
            if tables:
                await conn.execute(
                    "VACUUM (TRUNCATE false) " + ", ".join(f'"{table}"' for table in tables)
                )
                await conn.execute(_PUT_STATISTICS, self.statistics)
            return True
        finally:
            await conn.close()

    def _recycle(self, name: str) -> str:
        """``name`` emptied and renamed (the service keeps some answers per database URL, in
        the process: a URL never names two databases' contents), or a fresh clone."""
        if not asyncio.run(self._emptied(name)):
            self._drop(name)
            return self._clone()
        renamed = f"gathering_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
        rename = f'ALTER DATABASE "{name}" RENAME TO "{renamed}"'
        for _ in range(20):  # a backend told to end may take a moment to go
            try:
                asyncio.run(_pg_execute(self.dsn, rename))
                return renamed
            except asyncpg.ObjectInUseError:
                time.sleep(0.05)
        self._drop(name)  # something keeps connecting to it: start afresh
        return self._clone()

    def _drop(self, name: str) -> None:
        asyncio.run(_pg_execute(self.dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def take(self, *, durable: bool) -> str:
        """A database in the template's state; ``durable``: a fresh clone keeping the server's
        commits (dropped after its test)."""
        if durable:
            name = self.pool.submit(self._clone, asynchronous_commit=False).result()
            self.throwaway.add(name)
            return name
        ready = self.clean.popleft() if self.clean else self.pool.submit(self._clone)
        if not self.clean:  # one more, made while this test runs: the next emptying overlaps
            self.clean.append(self.pool.submit(self._clone))
        return ready.result()

    def empty(self) -> str:
        """A database with no tables at all (dropped after its test)."""
        name = f"gathering_empty_{RUN_ID}_{uuid.uuid4().hex[:8]}"
        statement = f'CREATE DATABASE "{name}"'
        self.pool.submit(asyncio.run, _pg_execute(self.dsn, statement)).result()
        self.throwaway.add(name)
        return name

    def later(self, name: str) -> None:
        """Empty ``name`` for another test (or drop it) on the thread, after its other work."""
        if name in self.throwaway:
            self.done.append(self.pool.submit(self._drop, name))
        else:
            self.clean.append(self.pool.submit(self._recycle, name))

    def finish(self) -> None:
        """Drop every database; the first failure raises."""
        for future in self.clean:
            self.done.append(self.pool.submit(self._drop, future.result()))
        self.pool.shutdown(wait=True)
        for future in self.done:
            future.result()


@pytest.fixture(scope="session")
def pg_databases(pg_template: tuple[str, str]) -> Iterator[_Databases]:
    databases = _Databases(*pg_template)
    yield databases
    databases.finish()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(engine_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, migrated, empty database of the engine under test (on PostgreSQL, one
    emptied back to the migrated template's state after the test before it: ``_Databases``).

    A PostgreSQL test database commits asynchronously (``synchronous_commit = off``): a commit
    is visible to every session at once and survives anything but a crash of the PostgreSQL
    server itself, which no test causes; only its wait for the disk is skipped. A test that reads
    the server's files marks itself ``durable_commits`` to keep the server's default."""
    durable = request.node.get_closest_marker("durable_commits") is not None
    yield from migrated_database(engine_name, request, tmp_path / "test.db", durable=durable)


def migrated_database(
    engine_name: str, request: pytest.FixtureRequest, sqlite_file: Path, *, durable: bool
) -> Iterator[str]:
    """Yield the URL of a database in the migrated template's state (SQLite: a copy of it at
    ``sqlite_file``); given back to the worker's databases afterwards (PostgreSQL)."""
    if engine_name == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), sqlite_file)
        yield f"sqlite+aiosqlite:///{sqlite_file}"
        return
    dsn, _template = request.getfixturevalue("pg_template")
    databases: _Databases = request.getfixturevalue("pg_databases")
    name = databases.take(durable=durable)
    yield _sa_url(dsn, name)
    databases.later(name)


@pytest.fixture
def empty_db_url(engine_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a database with no tables at all (for migration tests)."""
    if engine_name == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    dsn, _template = request.getfixturevalue("pg_template")
    databases: _Databases = request.getfixturevalue("pg_databases")
    name = databases.empty()
    yield _sa_url(dsn, name)
    databases.later(name)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, secret_key=TEST_SECRET, password_hash_cost="test")


class _CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's code for the app's templates, kept for the session (Jinja's own bytecode cache, in
    memory): each test's app has an environment of its own, which would otherwise compile every
    page it renders again (about 17 ms a template). Jinja keys an entry by the template's name
    and checks the checksum of its source, so an edited template is compiled afresh. Only for
    environments made alike (``create_app``'s)."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self.code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    application.state.templates.env.bytecode_cache = _COMPILED_TEMPLATES
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        yield c
