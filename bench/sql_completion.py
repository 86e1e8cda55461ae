"""The SQL editor's per-keystroke completion cost beside the editor's own work for the same key.

Each keystroke in Inspect's SQL editor asks ``names_to_offer`` what fits at the cursor (it reads
the text and the names cached from the catalog; no query runs). Beside it, in the same process,
the work Textual's TextArea does anyway for that key: the document edit, tree-sitter's
incremental re-parse and the highlight query over the whole text (``_build_highlight_map``).
Figures are medians of --repeat keystrokes, for a short query and a long one (--lines lines),
over a catalog of --tables tables of --columns columns each.

Usage: .venv/bin/python bench/sql_completion.py [--tables 50] [--columns 40] [--lines 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from textual.document._syntax_aware_document import SyntaxAwareDocument

from casparian_tui.widgets.sql_completion import names_to_offer
from casparian_tui.widgets.sql_editor import sql_highlight_query, sql_language


def median_ms(step: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        step()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--tables", type=int, default=50)
    options.add_argument("--columns", type=int, default=40)
    options.add_argument("--lines", type=int, default=200)
    options.add_argument("--repeat", type=int, default=200)
    args = options.parse_args()
    names = {
        f"table_{t}": [f"column_{t}_{c}" for c in range(args.columns)] for t in range(args.tables)
    }
    short = "SELECT column_3_1, count(*) FROM table_3 WHERE column_3_"
    body = "\n".join(
        f"  AND column_7_{i % args.columns} > {i} -- line {i}" for i in range(args.lines)
    )
    long = "SELECT *\nFROM table_7 t JOIN table_8 u ON t.column_7_1 = u.column_8_1\nWHERE 1=1\n"
    long += body + "\n  AND t.column_7_"
    language = sql_language()
    print(f"catalog: {args.tables} tables x {args.columns} columns; median of {args.repeat}")
    for label, text in (("short query", short), (f"{args.lines + 3}-line query", long)):
        document = SyntaxAwareDocument(text, language)
        end = document.end

        query = document.prepare_query(sql_highlight_query())

        def edit(
            document: SyntaxAwareDocument = document, end: tuple[int, int] = end, query: Any = query
        ) -> None:
            for start, stop, typed in ((end, end, "x"), (end, (end[0], end[1] + 1), "")):
                document.replace_range(start, stop, typed)  # a key typed, then taken back
                for nodes in document.query_syntax_tree(query).values():  # the highlights
                    for node in nodes:
                        _ = node.start_point, node.end_point

        offered = names_to_offer(text, text, names)
        count = 0 if offered is None else len(offered.names)
        completion = median_ms(lambda text=text: names_to_offer(text, text, names), args.repeat)
        keystroke = median_ms(edit, args.repeat) / 2
        print(
            f"{label:>16}: completion {completion:6.3f} ms ({count} names offered)"
            f" | TextArea's edit, parse and highlights {keystroke:6.3f} ms"
        )


if __name__ == "__main__":
    main()
