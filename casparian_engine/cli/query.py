"""``casparian query``: read-only SQL over the output tables, with the MCP tool's guard-rails."""

from __future__ import annotations

import typer

from .common import console, counted, fail, folding_table, open_workspace, print_json


def register(app: typer.Typer) -> None:
    @app.command("query")
    def query(
        ctx: typer.Context,
        sql: str = typer.Argument(
            None,
            help="One SELECT (or WITH … SELECT) over the output tables. Omit to list the tables.",
            show_default=False,
        ),
        limit: int = typer.Option(100, "--limit", "-n", help="Most rows to return (≤ 10,000)."),
        as_json: bool = typer.Option(False, "--json", help="Print rows and schema as JSON."),
    ) -> None:
        """Query the outputs with SQL — read-only: one SELECT, no files outside the outputs.

        Each parser output is a table named after the output (or [bold]parser__output[/] when two
        parsers share an output name). Example:
        [bold]casparian query "SELECT currency, sum(amount) FROM invoices GROUP BY 1"[/]
        """
        from ..catalog import QueryRefused

        with (
            open_workspace(ctx) as workspace,
            workspace.outputs.catalog(with_quarantine=False) as catalog,
        ):
            if not sql:
                if as_json:
                    print_json([t.__dict__ for t in catalog.tables])
                    return
                table = folding_table("table", "parser", "output", "files", "folder")
                for t in catalog.tables:
                    table.add_row(
                        t.name, t.parser_name, t.output_name, f"{t.file_count:,}", str(t.directory)
                    )
                console.print(table if catalog.tables else "No output tables yet.")
                return
            try:
                result = catalog.query(sql, limit=limit)
            except QueryRefused as exc:
                fail(exc)
        if as_json:
            print_json(result.__dict__)
            return
        table = folding_table(*(f"{c['name']}\n{c['type']}" for c in result.columns))
        for row in result.rows:
            table.add_row(*("∅" if v is None else str(v) for v in row.values()))
        console.print(table)
        more = f" (truncated: {result.truncated_reason})" if result.truncated else ""
        console.print(f"{counted(result.row_count, 'row')}{more}", highlight=False)
        for note in result.notes:
            console.print(f"note: {note}", highlight=False)
