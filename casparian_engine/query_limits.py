"""The row budget of a guarded query's answer, in a module of its own: the AI tools name it at
import, and importing the catalog (DuckDB) then would cost every app start-up ~0.3 s."""

DEFAULT_ROW_LIMIT = 1_000
MAX_ROW_LIMIT = 10_000
