"""Hot-path statements compiled once and run on the driver inside SQLAlchemy's transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

import asyncpg
from sqlalchemy import ColumnElement, Table, any_, bindparam, exc, func, insert, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement, Executable

Params = Mapping[str, Any]

_DISCONNECT_SQLSTATES = ("08", "57P")  # connection exceptions, admin shutdown / crash


class Prepared:
    """One statement. `postgresql` replaces `statement` there; `postgresql_params` turns the
    portable parameters into the variant's (e.g. a list of pairs into two arrays, or the rows
    of a multi-row INSERT into one array per column)."""

    def __init__(
        self,
        statement: Executable,
        *,
        postgresql: Executable | None = None,
        postgresql_params: Callable[[Any], Params] | None = None,
    ) -> None:
        self._portable = statement
        self._postgresql = postgresql if postgresql is not None else statement
        self._postgresql_params = postgresql_params
        self._compiled: dict[tuple[str, ...], _Compiled | None] = {}

    def for_dialect(self, dialect: Dialect) -> Executable:
        """The form SQLAlchemy runs: on PostgreSQL the PostgreSQL one, also when SQLAlchemy
        runs it rather than the driver (before the transaction has begun)."""
        return self._postgresql if dialect.name == "postgresql" else self._portable

    def params_for(self, dialect: Dialect, params: Any) -> Any:
        """`params` as `for_dialect(dialect)` takes them."""
        return self.driver_params(params) if dialect.name == "postgresql" else params

    def driver_params(self, params: Any) -> Any:
        """`params` as the PostgreSQL form of the statement takes them."""
        return params if self._postgresql_params is None else self._postgresql_params(params)

    def on_driver(self, dialect: Dialect, params: Any) -> tuple[_Compiled, Params] | None:
        """The compiled statement and its parameters, or None to run it through SQLAlchemy."""
        params = self.driver_params(params)
        if not isinstance(params, Mapping):
            return None
        keys = tuple(params)
        try:
            compiled = self._compiled[keys]
        except KeyError:
            compiled = self._compiled[keys] = _Compiled.of(self._postgresql, dialect, keys)
        return None if compiled is None else (compiled, params)


def unnest_array(name: str, item_type: Any) -> Any:
    """PostgreSQL: the items of the array parameter `name`, one row each."""
    return func.unnest(bindparam(name, type_=ARRAY(item_type)))


def where_in(query: Any, column: Any, name: str) -> Prepared:
    """`query` for the rows whose `column` is in the list parameter `name`: expanded per call
    in the portable form, one array parameter (`= ANY`) on PostgreSQL."""
    return Prepared(
        query.where(column.in_(bindparam(name, expanding=True))),
        postgresql=query.where(column == any_(bindparam(name, type_=ARRAY(column.type)))),
    )


def pairs_in(first: Any, second: Any) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """`(first, second) IN :pairs`, portable (the list expanded per call) and for PostgreSQL
    (two arrays unnested side by side: one statement whatever the number of pairs). A
    statement using them takes `pair_arrays` as its `postgresql_params`."""
    pair = tuple_(first, second)
    return (
        pair.in_(bindparam("pairs", expanding=True)),
        pair.in_(
            select(
                unnest_array("pair_firsts", first.type), unnest_array("pair_seconds", second.type)
            )
        ),
    )


def pair_arrays(params: Params) -> dict[str, Any]:
    """`params` with their `pairs` as the two arrays `pairs_in` unnests on PostgreSQL."""
    converted = {name: value for name, value in params.items() if name != "pairs"}
    converted["pair_firsts"] = [pair[0] for pair in params["pairs"]]
    converted["pair_seconds"] = [pair[1] for pair in params["pairs"]]
    return converted


class _Compiled:
    """SQL text for asyncpg and, per positional parameter, how to get its value."""

    def __init__(self, sql: str, values: list[tuple[str | None, Any, Any]]) -> None:
        self.sql = sql
        self._values = values  # (parameter name, or None for a constant; constant; processor)

    @classmethod
    def of(cls, statement: Executable, dialect: Dialect, keys: Sequence[str]) -> _Compiled | None:
        """None when the statement needs SQLAlchemy at execution time (Python-side column
        defaults, expanding parameters): it then always runs through SQLAlchemy."""
        compiled: Any = cast(ClauseElement, statement).compile(
            dialect=dialect, column_keys=list(keys)
        )
        if compiled.insert_prefetch or compiled.update_prefetch:
            return None
        values: list[tuple[str | None, Any, Any]] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            if bind.expanding:
                return None
            processor = _bind_processor(bind.type, dialect)
            if name in keys:
                values.append((name, None, processor))
            elif bind.callable is None and not bind.required:
                values.append((None, bind.value, processor))
            else:
                return None
        return cls(compiled.string, values)

    def arguments(self, params: Params) -> list[Any]:
        arguments = []
        for name, constant, processor in self._values:
            value = params[name] if name is not None else constant
            if processor is not None and value is not None:
                value = processor(value)
            arguments.append(value)
        return arguments


def _bind_processor(type_: Any, dialect: Dialect) -> Any:
    """SQLAlchemy's processor for a parameter; none for an array whose items need none
    (asyncpg takes the list as it is, SQLAlchemy's would only copy it)."""
    if isinstance(type_, ARRAY) and _bind_processor(type_.item_type, dialect) is None:
        return None
    return type_.dialect_impl(dialect).bind_processor(dialect)


class Statements:
    """Runs `Prepared` statements on one connection: a unit of work's (taken from its session
    when first needed, let go when it commits) or an autocommit one."""

    def __init__(
        self, connect: Callable[[], Awaitable[AsyncConnection]], *, autocommit: bool = False
    ) -> None:
        self._connect = connect
        self._autocommit = autocommit
        self._connection: AsyncConnection | None = None
        self._driver: Any | None = None

    @classmethod
    def on(cls, connection: AsyncConnection, *, autocommit: bool = False) -> Statements:
        """Statements on a connection the caller holds."""

        async def held() -> AsyncConnection:
            return connection

        return cls(held, autocommit=autocommit)

    async def connection(self) -> AsyncConnection:
        if self._connection is None:
            connection = await self._connect()
            if connection.dialect.driver == "asyncpg":
                self._driver = (await connection.get_raw_connection()).driver_connection
            self._connection = connection
        return self._connection

    def release(self) -> None:
        """After the transaction ends the connection goes back to the pool: forget it."""
        self._connection = self._driver = None

    async def _driver_call(
        self, statement: Prepared, params: Any
    ) -> tuple[_Compiled, Params] | None:
        connection = await self.connection()
        driver = self._driver
        if driver is None or not (self._autocommit or driver.is_in_transaction()):
            return None  # SQLite, or SQLAlchemy has yet to begin the transaction
        return statement.on_driver(connection.dialect, params)

    async def rows(
        self, statement: Prepared, params: Params | Sequence[Params]
    ) -> Sequence[Sequence[Any]]:
        """The result rows, each indexable by position. A list of parameter sets is one
        multi-row statement (INSERT ... RETURNING), rows returned in parameter order."""
        call = await self._driver_call(statement, params)
        if call is not None:
            compiled, driver_params = call
            arguments = compiled.arguments(driver_params)
            try:
                return await self._driver.fetch(compiled.sql, *arguments)  # type: ignore[no-any-return, union-attr]
            except _DRIVER_ERRORS as error:
                raise await self._translated(error, compiled.sql, arguments) from error
        connection = await self.connection()
        dialect = connection.dialect
        return list(
            await connection.execute(
                statement.for_dialect(dialect), statement.params_for(dialect, params)
            )
        )

    async def execute(self, statement: Prepared, params: Params) -> None:
        await self.execute_many(statement, [params])

    async def execute_many(self, statement: Prepared, rows: Sequence[Params]) -> None:
        """The statement once per row; asyncpg sends them all before waiting for replies."""
        if not rows:
            return
        call = await self._driver_call(statement, rows[0])
        if call is None:
            connection = await self.connection()
            dialect = connection.dialect
            await connection.execute(
                statement.for_dialect(dialect),
                [statement.params_for(dialect, row) for row in rows],
            )
            return
        compiled, _ = call
        batch = [compiled.arguments(statement.driver_params(row)) for row in rows]
        driver: Any = self._driver
        try:
            if len(batch) == 1:
                await driver.execute(compiled.sql, *batch[0])
            else:
                await driver.executemany(compiled.sql, batch)
        except _DRIVER_ERRORS as error:
            raise await self._translated(error, compiled.sql, batch) from error

    async def insert_all(self, batches: Sequence[tuple[Table, Sequence[Params]]]) -> None:
        """Insert each batch's rows into its table, batches in order (a row may refer to one
        of an earlier batch). On PostgreSQL inside a transaction: one statement for all of
        them, each table's rows one JSON parameter (foreign keys are checked at the end of
        the statement); elsewhere, one multi-row INSERT per table. The rows of a batch have
        the same keys; a column left out must not need a Python-side default."""
        batches = [(table, rows) for table, rows in batches if rows]
        if not batches:
            return
        connection = await self.connection()
        driver = self._driver
        if driver is None or not driver.is_in_transaction():
            for table, rows in batches:
                await connection.execute(insert(table), [dict(row) for row in rows])
            return
        sql = _insert_all_sql(tuple((table, tuple(rows[0])) for table, rows in batches))
        arguments = [json.dumps(list(rows), default=_json_value) for _, rows in batches]
        try:
            await driver.execute(sql, *arguments)
        except _DRIVER_ERRORS as error:
            raise await self._translated(error, sql, arguments) from error

    async def literal_rows(self, sql: str) -> Sequence[Sequence[Any]]:
        """The result rows of a statement without parameters (its values literals)."""
        connection = await self.connection()
        return list(await connection.exec_driver_sql(sql))

    async def run_with_the_commit(self, statements: Sequence[str]) -> None:
        """Run `statements` (no parameters) and commit, in one message on PostgreSQL once the
        transaction has begun: the server runs them and commits without a round trip in
        between. A new, empty transaction is begun in the same message, so the session's own
        COMMIT that follows closes that one and SQLAlchemy's account stays true. Elsewhere
        they run one by one and the session's COMMIT commits them."""
        connection = await self.connection()
        driver = self._driver
        if driver is None or not driver.is_in_transaction():
            for statement in statements:
                await connection.exec_driver_sql(statement)
            return
        script = ";\n".join([*statements, "COMMIT", "BEGIN"])
        try:
            await driver.execute(script)
        except _DRIVER_ERRORS as error:
            raise await self._translated(error, script[:2000], ()) from error

    async def _translated(self, error: BaseException, sql: str, arguments: Any) -> exc.DBAPIError:
        """The exception SQLAlchemy would have raised for this driver error."""
        sqlstate = str(getattr(error, "sqlstate", "") or "")
        if isinstance(error, asyncpg.IntegrityConstraintViolationError):
            return exc.IntegrityError(sql, arguments, error)
        if isinstance(error, asyncpg.PostgresError) and not sqlstate.startswith(
            _DISCONNECT_SQLSTATES
        ):
            return exc.DBAPIError(sql, arguments, error)
        if self._connection is not None:
            await self._connection.invalidate()  # never hand this connection out again
        return exc.OperationalError(sql, arguments, error, connection_invalidated=True)


@lru_cache(maxsize=64)
def _insert_all_sql(shape: tuple[tuple[Table, tuple[str, ...]], ...]) -> str:
    """`WITH w1 AS (INSERT ... SELECT ... FROM json_populate_recordset(...)), ... SELECT 1`."""
    parts = []
    for number, (table, keys) in enumerate(shape, start=1):
        missing = [
            column.name
            for column in table.columns
            if column.name not in keys and column.default is not None
        ]
        if missing:
            raise ValueError(f"{table.name}: {missing} need their Python-side defaults")
        columns = ", ".join(f'"{table.columns[key].name}"' for key in keys)
        parts.append(
            f'w{number} AS (INSERT INTO "{table.name}" ({columns}) SELECT {columns} '
            f'FROM json_populate_recordset(NULL::"{table.name}", ${number}::json))'
        )
    return "WITH " + ", ".join(parts) + " SELECT 1"


def _json_value(value: Any) -> Any:
    """What `json` cannot write itself, as PostgreSQL reads it from JSON text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be written as a JSON column value")


_DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # the protocol lost track: a connection cut mid-operation
    OSError,
)
