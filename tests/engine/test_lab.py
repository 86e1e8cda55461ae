"""Parser Lab: deterministic drafts of real files run through `casparian run`, approve, register.

Expected row counts are computed here independently of the lab (Python's csv module, plain line
counts), and the drafts run in real guests through the same executor as `casparian run`.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from casparian_engine.contracts.model import SchemaContract
from casparian_engine.demo import generate_demo
from casparian_engine.lab import (
    PARSER_FILE,
    DraftFile,
    LabError,
    deterministic_draft,
    try_parser,
    write_draft,
)
from casparian_engine.lab.patterns import infer_key_values, infer_line_pattern
from casparian_engine.parsers.gatekeeper import judge, scan_source
from casparian_engine.workspace import Workspace

from .cli_support import run_cli

CORPUS = Path(__file__).resolve().parents[1] / "corpora" / "dev"
SPECTRUM = CORPUS / "csv-spectrum"


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(home, *args, timeout=300)


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("labdemo") / "demo"
    return generate_demo(root, 60, seed=3).files_dir


def _csv_rows(paths: list[Path], delimiter: str, skip: int) -> tuple[int, int]:
    """(rows with the header's width, rows with another width) of CSV files, read by Python."""
    good = bad = 0
    for path in paths:
        records = list(
            csv.reader(io.StringIO(path.read_text("utf-8-sig"), newline=""), delimiter=delimiter)
        )
        width = len(records[skip - 1])
        for record in records[skip:]:
            if not record:
                continue
            if len(record) == width:
                good += 1
            else:
                bad += 1
    return good, bad


def _run_json(home: Path, parser: Path, inputs: Path) -> dict[str, object]:
    completed = _cli(home, "run", str(parser), str(inputs), "--json", "--force")
    assert completed.returncode == 0, completed.stderr
    document: dict[str, object] = json.loads(completed.stdout)
    return document


def _draft_approve_run(
    workspace: Workspace, home: Path, samples: Path, out: Path, name: str
) -> tuple[dict[str, object], object]:
    """Draft into ``out``, approve its contract as a person would, run it with the CLI."""
    draft = deterministic_draft([samples], name)
    written = write_draft(draft, out)
    assert (out / "uv.lock").is_file() and (out / "pyproject.toml").is_file()
    contract_path = out / f"{name}.contract.yaml"
    contract = SchemaContract.from_yaml(contract_path.read_text(), str(contract_path))
    approval = workspace.contracts.approve(contract)
    assert approval.created
    document = _run_json(home, written.folder / PARSER_FILE, samples)
    return document, draft


@pytest.mark.parametrize(
    ("folder", "delimiter", "skip", "kind"),
    [
        ("invoices", ",", 1, "delimited"),
        ("sensors", ";", 2, "delimited"),
        ("finance", ",", 1, "delimited"),
    ],
)
def test_demo_tables_draft_run_with_exact_counts_after_approval(
    workspace: Workspace,
    home: Path,
    demo_files: Path,
    tmp_path: Path,
    folder: str,
    delimiter: str,
    skip: int,
    kind: str,
) -> None:
    samples = demo_files / folder
    good, bad = _csv_rows(sorted(samples.rglob("*.csv")), delimiter, skip)
    document, draft = _draft_approve_run(workspace, home, samples, tmp_path / folder, folder)
    assert draft.kind == kind  # type: ignore[attr-defined]
    outputs = document["outputs"]
    assert outputs == {folder: {"emitted": good + bad, "written": good, "quarantined": bad}}
    registration = workspace.parsers.register(tmp_path / folder)
    assert registration.name == folder and registration.created


def test_demo_json_lines_and_syslog_drafts_run_with_exact_counts(
    workspace: Workspace, home: Path, demo_files: Path, tmp_path: Path
) -> None:
    events = demo_files / "events"
    lines = [
        line for path in sorted(events.rglob("*.jsonl")) for line in path.read_text().splitlines()
    ]
    document, draft = _draft_approve_run(workspace, home, events, tmp_path / "ev", "events")
    assert draft.kind == "json-lines"  # type: ignore[attr-defined]
    expected = {"emitted": len(lines), "written": len(lines), "quarantined": 0}
    assert document["outputs"] == {"events": expected}

    logs = demo_files / "logs"
    log_lines = [
        line
        for path in sorted(logs.rglob("*.log"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    continuation = [line for line in log_lines if line[:1].isspace()]
    assert continuation, "the demo's syslog has indented continuation lines"
    document, draft = _draft_approve_run(workspace, home, logs, tmp_path / "logs", "syslog")
    assert draft.kind == "log-pattern"  # type: ignore[attr-defined]
    assert document["outputs"] == {
        "syslog": {
            "emitted": len(log_lines),
            "written": len(log_lines) - len(continuation),
            "quarantined": len(continuation),
        }
    }
    parser_text = (tmp_path / "logs" / PARSER_FILE).read_text()
    assert "(?P<host>" in parser_text and "(?P<program>" in parser_text


def test_try_reports_counts_first_reasons_with_lines_and_a_preview(
    workspace: Workspace, demo_files: Path, tmp_path: Path
) -> None:
    samples = demo_files / "invoices"
    good, bad = _csv_rows(sorted(samples.rglob("*.csv")), ",", 1)
    assert bad == 1  # the demo plants one row with an extra column
    write_draft(deterministic_draft([samples], "invoices"), tmp_path / "inv")
    result = try_parser(workspace, tmp_path / "inv", [samples])
    assert result.ok and result.written == good and result.quarantined == bad
    (output,) = result.outputs
    (reason,) = output.reasons
    assert reason.rules == "parser_flagged"
    assert reason.reason.startswith("expected 9 fields, got 10: INV-")
    planted = next(p for p in samples.rglob("*.csv") if "see attached note" in p.read_text())
    line = planted.read_text().splitlines()[reason.row - 1]  # type: ignore[operator]
    assert "see attached note" in line
    assert [name for name, _ in output.columns][:2] == ["invoice_id", "issued_on"]
    assert ("issued_on", "date32[day]") in output.columns
    assert len(output.preview) == 10
    assert not any(name.startswith("_cf_") and name != "_cf_row" for name, _ in output.columns)


SPECTRUM_FILES = [
    "comma_in_quotes",
    "empty_crlf",
    "escaped_quotes",
    "newlines",
    "newlines_crlf",
    "quotes_and_newlines",
    "simple_crlf",
    "utf8",
]


def test_csv_spectrum_drafts_give_the_expected_values(workspace: Workspace, tmp_path: Path) -> None:
    for stem in SPECTRUM_FILES:
        sample = SPECTRUM / "csvs" / f"{stem}.csv"
        expected = json.loads((SPECTRUM / "json" / f"{stem}.json").read_text())
        folder = tmp_path / stem
        draft = deterministic_draft([sample], f"s_{stem}")
        # Text columns only: the expected JSON holds every value as a string.
        write_draft(draft, folder)
        contract_file = folder / f"s_{stem}.contract.yaml"
        text = contract_file.read_text()
        contract = SchemaContract.from_yaml(text, str(contract_file))
        as_text = {
            "name": contract.name,
            "columns": [{"name": c.name, "type": "string"} for c in contract.columns],
        }
        contract_file.write_text(SchemaContract.from_dict(as_text).to_yaml())
        result = try_parser(workspace, folder, [sample])
        assert result.ok, (stem, result.failure)
        (output,) = result.outputs
        assert (output.written, output.quarantined) == (len(expected), 0), stem
        names = [name for name, _ in output.columns if name != "_cf_row"]
        rows = [dict(zip(names, row, strict=False)) for row in output.preview]
        # Arrow's CSV reader ends a quoted value's inner lines with LF even where the file has CRLF.
        crlf_as_lf = [{k: v.replace("\r\n", "\n") for k, v in row.items()} for row in expected]
        assert rows == crlf_as_lf, stem


def test_newline_inside_quotes_keeps_later_line_numbers_true(
    workspace: Workspace, tmp_path: Path
) -> None:
    sample = tmp_path / "notes.csv"
    sample.write_text('id,note\n1,"two\nlines"\n2,plain\n\n3,x,extra\n4,last\n')
    write_draft(deterministic_draft([sample], "notes"), tmp_path / "p")
    result = try_parser(workspace, tmp_path / "p", [sample])
    (output,) = result.outputs
    assert (output.written, output.quarantined) == (3, 1)
    assert [row[-1] for row in output.preview] == [2, 4, 7]
    (reason,) = output.reasons
    assert reason.row == 6 and reason.reason == "expected 2 fields, got 3: 3,x,extra"


@pytest.mark.parametrize(
    ("relative", "rows"),
    [
        ("duckdb-csv/auto/pipe_delim.csv", 3),
        ("duckdb-csv/auto/tab.csv", 3),
        ("duckdb-csv/auto/utf8bom.csv", 2),
        ("duckdb-csv/auto/backslash_escape.csv", 3),
        ("duckdb-csv/encodings/latin1.csv", 12),
        ("duckdb-csv/real/lineitem_sample.csv", 10),
    ],
)
def test_duckdb_corpus_drafts_run_through_casparian_run(
    workspace: Workspace, home: Path, tmp_path: Path, relative: str, rows: int
) -> None:
    sample = CORPUS / relative
    document, _ = _draft_approve_run(workspace, home, sample, tmp_path / "p", "corpus")
    assert document["outputs"] == {"corpus": {"emitted": rows, "written": rows, "quarantined": 0}}


def test_writing_outside_the_folder_is_impossible(tmp_path: Path) -> None:
    sample = tmp_path / "a.csv"
    sample.write_text("x,y\n1,2\n")
    draft = deterministic_draft([sample], "a")
    for bad_name in ("../escape.py", "/tmp/abs.py", "sub/inner.py", "..", "~/x.py"):
        evil = draft.__class__(
            name=draft.name,
            kind=draft.kind,
            facts=draft.facts,
            files=(*draft.files, DraftFile(bad_name, "print('x')\n", "model")),
            contracts=draft.contracts,
        )
        with pytest.raises(LabError, match="inside"):
            write_draft(evil, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.py").exists()


def test_an_existing_file_is_never_replaced_without_asking(tmp_path: Path) -> None:
    sample = tmp_path / "a.csv"
    sample.write_text("x,y\n1,2\n")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / PARSER_FILE).write_text("# mine\n")
    draft = deterministic_draft([sample], "a")
    with pytest.raises(LabError, match=r"would replace parser\.py"):
        write_draft(draft, folder)
    assert (folder / PARSER_FILE).read_text() == "# mine\n"
    assert not (folder / "a.contract.yaml").exists()
    write_draft(draft, folder, overwrite=True)
    assert "class AParser(Parser)" in (folder / PARSER_FILE).read_text()


def test_cli_draft_refuses_to_replace_then_force_and_try(home: Path, tmp_path: Path) -> None:
    sample = tmp_path / "a.csv"
    sample.write_text("x;y\n1;2,5\n3;4,0\n")
    out = tmp_path / "out"
    first = _cli(home, "lab", "draft", str(sample), "--out", str(out), "--json")
    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)
    assert document["kind"] == "delimited"
    assert {f["name"]: f["origin"] for f in document["files"]}["parser.py"] == "inferred"
    again = _cli(home, "lab", "draft", str(sample), "--out", str(out))
    assert again.returncode == 1
    said = " ".join(again.stderr.split())  # the console wraps at $COLUMNS when it is set
    assert "would replace" in said and "use --force to replace them" in said
    forced = _cli(home, "lab", "draft", str(sample), "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    tried = _cli(home, "lab", "try", str(out), str(sample), "--json")
    assert tried.returncode == 0, tried.stderr
    result = json.loads(tried.stdout)
    assert result["outputs"]["a"]["written"] == 2
    assert result["outputs"]["a"]["preview"] == [[1, 2.5, 2], [3, 4.0, 3]]
    shown = _cli(home, "lab", "try", str(out), str(sample))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "a: 2 rows written, 0 quarantined"
    assert any(line.split() == ["│", "1", "│", "2.5", "│", "2", "│"] for line in lines)
    assert "next: casparian schema approve " in shown.stdout


def test_every_template_passes_the_gatekeeper(tmp_path: Path) -> None:
    samples = {
        "t.csv": "a,b\n1,2\n",
        "w.txt": "name  size  when\nalpha  12  2024-01-01\nbeta  7  2024-01-02\n"
        "gamma  9  2024-01-03\n",
        "k.log": 'ts=1 level=info msg="a b"\nts=2 level=warn msg=c\n',
        "s.log": "Mar  3 14:02:01 h1 cron[1]: x y\nMar  3 14:02:02 h1 sshd[2]: z\n",
        "j.jsonl": '{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n',
        "p.txt": "just some words\nand more words here that differ\nok\n",
    }
    kinds = []
    for name, text in samples.items():
        path = tmp_path / name
        path.write_text(text)
        draft = deterministic_draft([path], "t")
        kinds.append(draft.kind)
        source = draft.file(PARSER_FILE).text
        verdict = judge(scan_source(source, PARSER_FILE), "strict")
        assert not verdict.refused, (name, verdict.blocking)
        compile(source, name, "exec")
    assert kinds == ["delimited", "whitespace", "key-value", "log-pattern", "json-lines", "lines"]


def test_line_patterns_from_samples() -> None:
    access = [
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326',
        '10.0.0.2 - - [10/Oct/2000:13:55:37 -0700] "GET /b HTTP/1.1" 404 12',
    ]
    pattern = infer_line_pattern(access)
    assert pattern is not None
    assert pattern.columns == ("ip", "field_3", "timestamp", "field_5", "field_6", "field_7")
    pairs = infer_key_values(['ts=1 level=info msg="hello world"', "ts=2 level=warn msg=x"])
    assert pairs is not None and [k for k, _ in pairs.keys] == ["ts", "level", "msg"]
    assert infer_line_pattern(["free text here", "and other words", "more prose, longer"]) is None


def test_line_patterns_of_common_log_layouts(tmp_path: Path) -> None:
    """Bracketed time and level, logcat's date/time/pids/one-letter level, and a thread name
    with nested brackets between separators: leading fields split, the rest is the message."""
    bracketed = tmp_path / "error.log"
    bracketed.write_text(
        "[Mon Mar 03 10:00:01 2025] [notice] cache ready on /var/cache\n"
        "[Mon Mar 03 10:00:02 2025] [error] child 12 in state 6\n"
        "[Mon Mar 03 10:00:09 2025] [notice] worker found in slot 3 of 10\n"
    )
    draft = deterministic_draft([bracketed], "errors")
    assert draft.kind == "log-pattern"  # starts with "[" but is not JSON
    assert draft.findings[0].startswith("log: lines of the form timestamp level message")
    logcat = [
        "03-17 16:13:38.811  1702  2395 D WindowManager: frozen display for app",
        "03-17 16:13:38.935  1702  3697 W ActivityManager: caller 10113 lacks a permission",
        "03-17 16:13:39.070  2227  2227 I PanelView: onTouchEvent x=271.0, y=14.0",
    ]
    pattern = infer_line_pattern(logcat)
    assert pattern is not None
    assert pattern.columns == (
        "date", "time", "field_3", "field_4", "level", "program", "pid", "message"
    )  # fmt: skip
    threads = [
        "2025-03-03 10:00:01,747 - INFO  [Peer[myid=1]/0.0.0.0:2181:Election@774] - time out: 3",
        "2025-03-03 10:00:02,394 - WARN  [Send:18897:Mgr@688] - Send worker leaving thread",
        "2025-03-03 10:00:04,071 - INFO  [/10.0.0.1:3888:Listener@493] - Received a request",
    ]
    pattern = infer_line_pattern(threads)
    assert pattern is not None and pattern.columns == ("timestamp", "level", "field_4", "message")
    assert pattern.matched == 3


def test_cli_drafts_and_tries_from_a_tag_with_no_files_named(
    workspace: Workspace, home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for number in range(3):
        (data / f"m{number}.csv").write_text(f"id,reading\n{number},1.5\n{number + 10},2.5\n")
    (data / "other.csv").write_text("x\n1\n")
    workspace.files.scan(data)
    workspace.files.tag([str(data / f"m{n}.csv") for n in range(3)], "meters")
    out = tmp_path / "out"
    nothing = _cli(home, "lab", "draft", "--out", str(out))
    assert nothing.returncode == 1
    assert "name sample files, or --tag TAG" in " ".join(nothing.stderr.split())
    unknown = _cli(home, "lab", "draft", "--tag", "nope", "--out", str(out))
    assert unknown.returncode == 1
    assert "tag 'nope': no files carry it" in " ".join(unknown.stderr.split())
    assert not out.exists()
    drafted = _cli(home, "lab", "draft", "--tag", "meters", "--out", str(out), "--json")
    assert drafted.returncode == 0, drafted.stderr
    document = json.loads(drafted.stdout)
    assert document["name"] == "meters"
    assert sorted(Path(p).name for p in document["samples"]) == ["m0.csv", "m1.csv", "m2.csv"]
    tried = _cli(home, "lab", "try", str(out), "--tag", "meters", "--json")
    assert tried.returncode == 0, tried.stderr
    assert json.loads(tried.stdout)["outputs"]["meters"]["written"] == 6


# As a new user would: real files of five formats nobody wrote for these tests (vendored from
# DuckDB's CSV test data, MIT, see tests/corpora/dev/SOURCES.md), drafted without edits, the
# contract approved as proposed, run with `casparian run`. Expected counts come from Python's
# csv module with the dialect a person reads off the file. UTF-16 ran only once the scanner's
# classifier read a UTF-16 byte-order mark as text (it called the file binary).
NEW_USER_FORMATS = [
    # (file, encoding, delimiter, header, columns)
    ("real/ontime_sample.csv", "utf-8", ",", True, 110),  # airline on-time, quoted commas
    ("real/ncvoter.csv", "utf-8", "\t", False, 94),  # voter roll: every value quoted, no header
    ("real/web_page.csv", "utf-8", "|", False, 14),  # TPC-DS table: pipes, empty values
    ("encodings/shift_jis.csv", "shift_jis", ",", True, 2),  # Japanese text in Shift-JIS
    ("encodings/utf16.csv", "utf-16", ",", True, 2),  # UTF-16 with a byte-order mark
]


@pytest.mark.parametrize(("relative", "encoding", "delimiter", "header", "width"), NEW_USER_FORMATS)
def test_new_user_formats_draft_and_run_without_edits(
    workspace: Workspace,
    home: Path,
    tmp_path: Path,
    relative: str,
    encoding: str,
    delimiter: str,
    header: bool,
    width: int,
) -> None:
    sample = CORPUS / "duckdb-csv" / relative
    text = sample.read_bytes().decode(encoding).lstrip("\ufeff")
    records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
    assert {len(r) for r in records} == {width}
    rows = len(records) - (1 if header else 0)
    document, draft = _draft_approve_run(workspace, home, sample, tmp_path / "p", "newcomer")
    assert draft.kind == "delimited"  # type: ignore[attr-defined]
    assert len(draft.contracts["newcomer"].columns) == width  # type: ignore[attr-defined]
    expected = {"emitted": rows, "written": rows, "quarantined": 0}
    assert document["outputs"] == {"newcomer": expected}
