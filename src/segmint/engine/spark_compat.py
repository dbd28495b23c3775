"""Corrections to ibis's Spark SQL, applied when the Spark engine is used.

ibis compiles `strip()` as TRIM(' \\t\\n\\r\\v\\f' FROM x); Spark reads the escapes '\\v' and
'\\f' in that literal as the letters v and f, so values silently lost leading and trailing
v's and f's ('fy@example.com' became 'y@example.com'). On Spark the strips become regular
expressions over Java's whitespace class, which matches what DuckDB's TRIM removes here.

ibis hands in-memory tables (Arrow or pandas) to Spark through pandas; missing values that
pandas holds as `pd.NA` (string columns) were pickled into Spark as the text
"net.razorvine.pickle.objects.ClassDictConstructor@…" instead of NULL. Missing values are
turned into None before Spark sees them.
"""

from __future__ import annotations

from typing import Any

_PATTERNS = {"visit_Strip": r"^\s+|\s+$", "visit_LStrip": r"^\s+", "visit_RStrip": r"\s+$"}
_applied = False


def apply_spark_compat() -> None:
    """Patch ibis's PySpark compiler once per process."""
    global _applied
    if _applied:
        return
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    def make(pattern: str) -> Any:
        def visit(self: Any, op: Any, *, arg: Any) -> Any:
            return self.f.regexp_replace(arg, pattern, "")

        return visit

    for method, pattern in _PATTERNS.items():
        setattr(PySparkCompiler, method, make(pattern))
    _patch_in_memory_tables()
    _applied = True


def _patch_in_memory_tables() -> None:
    from ibis.backends.pyspark import Backend
    from ibis.formats.pandas import PandasDataFrameProxy

    original = Backend._register_in_memory_table

    def register(self: Any, op: Any) -> None:
        frame = op.data.to_frame()
        if frame.isna().to_numpy().any():
            clean = frame.astype(object).where(frame.notna(), None)
            op = op.copy(data=PandasDataFrameProxy(clean))
        original(self, op)

    Backend._register_in_memory_table = register
