"""Bind a project's warehouse settings to an Ibis backend."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import ibis

from segmint.engine.engine import Capabilities, Engine
from segmint.engine.spark_compat import apply_spark_compat
from segmint.errors import BackendCapabilityError, ConfigError
from segmint.project.loader import LoadedProject
from segmint.project.spec import DuckDBWarehouse, IbisWarehouse, SparkWarehouse

_SPARK_SESSION: Any = None


def connect_duckdb(
    path: Path, threads: int | None = None, memory_limit: str | None = None
) -> Engine:
    """The embedded default: a DuckDB file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    try:
        con = ibis.duckdb.connect(str(path), **config)
    except Exception as exc:
        raise ConfigError(f"cannot open DuckDB warehouse {path}: {exc}") from exc
    return Engine(con, "duckdb", Capabilities(transactional_ddl=True, temp_tables=True))


def spark_session(
    master: str, warehouse_dir: Path, conf: dict[str, str], metastore_dir: Path | None = None
) -> Any:
    """One Spark session per process, configured for reproducible, UTC, non-ANSI SQL."""
    global _SPARK_SESSION
    if _SPARK_SESSION is not None:
        return _SPARK_SESSION
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise BackendCapabilityError(
            "the Spark engine needs pyspark: pip install 'segmint[spark]'"
        ) from exc
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python UDFs (phonenumbers for landlines and international numbers) run in worker
    # processes: in local mode they must use this interpreter, the one segmint is installed
    # in. On a cluster the executors need segmint installed (or set spark.pyspark.python).
    if master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("segmint")
        .config("spark.sql.warehouse.dir", str(warehouse_dir))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.legacy.createHiveTableByDefault", "false")
        .config("spark.sql.legacy.allowNonEmptyLocationInCTAS", "true")
    )
    if metastore_dir is not None:
        metastore_dir.mkdir(parents=True, exist_ok=True)
        url = f"jdbc:derby:;databaseName={metastore_dir / 'metastore_db'};create=true"
        builder = (
            builder.config("spark.sql.catalogImplementation", "hive")
            .config("spark.hadoop.javax.jdo.option.ConnectionURL", url)
            .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={metastore_dir}")
        )
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    _SPARK_SESSION = session
    return session


def connect_spark(
    master: str,
    warehouse_dir: Path,
    database: str,
    conf: dict[str, str],
    metastore_dir: Path | None = None,
) -> Engine:
    """Spark, local or on a cluster, through Ibis."""
    apply_spark_compat()
    session = spark_session(master, warehouse_dir, conf, metastore_dir)
    session.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    session.catalog.setCurrentDatabase(database)
    con = ibis.pyspark.connect(session)
    return Engine(
        con,
        "spark",
        Capabilities(transactional_ddl=False, owns_connection=False, permanent_view_quote="`"),
    )


def connect(project: LoadedProject) -> Engine:
    """The engine a project declares."""
    warehouse = project.spec.warehouse
    if isinstance(warehouse, DuckDBWarehouse):
        return connect_duckdb(
            project.resolve(warehouse.path), warehouse.threads, warehouse.memory_limit
        )
    if isinstance(warehouse, SparkWarehouse):
        return connect_spark(
            warehouse.master,
            project.resolve(warehouse.warehouse_dir),
            warehouse.database,
            warehouse.conf,
            project.resolve(warehouse.metastore_dir) if warehouse.metastore_dir else None,
        )
    if isinstance(warehouse, IbisWarehouse):
        try:
            con = ibis.connect(warehouse.url)
        except Exception as exc:
            raise ConfigError(f"cannot connect to {warehouse.url}: {exc}") from exc
        return Engine(con, con.name, Capabilities(transactional_ddl=False))
    raise ConfigError(f"unknown warehouse engine {warehouse!r}")  # pragma: no cover
