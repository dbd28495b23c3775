"""The engine: the one place that executes Ibis expressions and owns the warehouse.

Stages build expressions; the engine materialises them into run-scoped tables
(`_r<run_id>__<name>`) and, when every stage of a run has succeeded, publishes them all at
once by pointing the public view `<name>` at the run's table. A run that fails never
publishes, so readers keep seeing the previous good build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from segmint.errors import StageError, TableNotFoundError

_RUN_TABLE = re.compile(r"^_r(?P<run>[0-9a-z]+)__(?P<name>.+)$")


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared as data (no backend checks in stage code)."""

    transactional_ddl: bool
    # Spark sessions are process-wide: closing one engine must not stop the session.
    owns_connection: bool = True
    # ibis creates temporary views on Spark; such engines publish with CREATE VIEW in SQL,
    # quoting names with this character.
    permanent_view_quote: str | None = None
    # Session-scoped tables that skip the warehouse file (DuckDB); elsewhere intermediates
    # are ordinary tables, dropped when the run ends.
    temp_tables: bool = False


def table_name(table: ir.Table) -> str:
    """The unqualified name of a physical table expression."""
    name = getattr(table.op(), "name", None)
    if not isinstance(name, str):
        raise TypeError("expected a physical table, got an expression")
    return name


class Engine:
    """An Ibis connection plus segmint's conventions for run tables and publishing."""

    def __init__(self, con: ibis.BaseBackend, kind: str, capabilities: Capabilities) -> None:
        self.con = con
        self.kind = kind
        self.capabilities = capabilities

    # -- reading -------------------------------------------------------------------------
    def list_tables(self) -> list[str]:
        """Every table and view in the warehouse."""
        return list(self.con.list_tables())

    def exists(self, name: str) -> bool:
        """Whether a table or view called `name` exists."""
        return name in self.list_tables()

    def table(self, name: str) -> ir.Table:
        """A published table (or any table) by name."""
        if not self.exists(name):
            published = sorted(self.published_tables())
            raise TableNotFoundError(
                f"no table {name!r} in the warehouse; published tables: "
                + (", ".join(published) or "none (run the pipeline first)")
            )
        return self.con.table(name)

    def published_tables(self) -> list[str]:
        """The public names: views over a run table, plus segmint's append-only logs."""
        return sorted(
            n for n in self.list_tables() if not n.startswith("_") and not n.startswith("ibis_")
        )

    def to_pandas(self, expr: ir.Table) -> pd.DataFrame:
        """Execute a (small) expression into pandas."""
        return self.con.to_pandas(expr)

    def to_pyarrow(self, expr: ir.Table) -> pa.Table:
        """Execute an expression into Arrow."""
        return self.con.to_pyarrow(expr)

    def scalar(self, expr: ir.Scalar) -> Any:
        """Execute a scalar expression."""
        return self.con.execute(expr)

    # -- writing -------------------------------------------------------------------------
    @staticmethod
    def run_table(run_id: str, name: str) -> str:
        """The physical name of table `name` built by run `run_id`."""
        return f"_r{run_id}__{name}"

    def materialize(
        self, name: str, obj: ir.Table | pa.Table | pd.DataFrame, temporary: bool = False
    ) -> ir.Table:
        """Create (or replace) a physical table from an expression or in-memory data.

        `temporary` marks an intermediate that lives only for this connection where the
        engine supports that (it is then never written to the warehouse file).
        """
        temp = True if temporary and self.capabilities.temp_tables else None
        try:
            return self.con.create_table(name, obj, overwrite=True, temp=temp)
        except Exception as exc:
            raise StageError(f"building table {name} failed: {exc}") from exc

    def append(self, name: str, frame: pd.DataFrame) -> None:
        """Append rows to a log table, creating it on first use."""
        if self.exists(name):
            existing = self.con.table(name).schema()
            frame = frame[list(existing.names)]
            self.con.insert(name, ibis.memtable(frame, schema=existing))
        else:
            self.con.create_table(name, ibis.memtable(frame))

    def drop(self, name: str) -> None:
        """Drop a table if it exists."""
        if self.exists(name):
            self.con.drop_table(name, force=True)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if not self.capabilities.transactional_ddl:
            yield
            return
        self.con.raw_sql("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.raw_sql("ROLLBACK")
            raise
        self.con.raw_sql("COMMIT")

    def publish(self, run_id: str, names: Iterable[str], retire: Iterable[str] = ()) -> None:
        """Point every public view at this run's tables, atomically where the engine can.

        `retire` names views of optional outputs this run did not build (a stage switched
        off or skipped): they are dropped, since the older run's tables they show are about
        to be discarded.
        """
        names = list(names)
        with self._transaction():
            for name in retire:
                if name not in names and self.exists(name):
                    self.con.drop_view(name, force=True)
            for name in names:
                physical = self.run_table(run_id, name)
                quote = self.capabilities.permanent_view_quote
                if quote is None:
                    self.con.create_view(name, self.con.table(physical), overwrite=True)
                else:
                    self.con.raw_sql(
                        f"CREATE OR REPLACE VIEW {quote}{name}{quote} AS "
                        f"SELECT * FROM {quote}{physical}{quote}"
                    )

    def discard_run(self, run_id: str) -> None:
        """Drop every table a (failed or superseded) run built."""
        for table in self.list_tables():
            match = _RUN_TABLE.match(table)
            if match and match["run"] == run_id:
                self.con.drop_table(table, force=True)

    def runs_with_tables(self) -> list[str]:
        """Run ids that still have tables in the warehouse."""
        return sorted(
            {m["run"] for t in self.list_tables() if (m := _RUN_TABLE.match(t)) is not None}
        )

    def close(self) -> None:
        """Release the connection."""
        disconnect = getattr(self.con, "disconnect", None)
        if disconnect is not None and self.capabilities.owns_connection:
            disconnect()
