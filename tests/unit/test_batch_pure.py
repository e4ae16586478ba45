"""The batch package's pure parts: CSV checks, templates, plans, splitting, estimates, merging."""

from __future__ import annotations

import csv
import io
import random

import pytest

from bot.batch.jobs import Job, next_interval
from bot.batch.plan import (
    EMPTY_PROMPT,
    build_plan,
    estimate,
    sample_indices,
    split,
)
from bot.batch.results import (
    RowResult,
    batch_cost_usd,
    failed_rows,
    output_csv,
    summarise,
)
from bot.batch.table import BatchInputError, Table, parse_csv
from bot.batch.template import parse_template
from bot.claude.catalog import CATALOG
from bot.conversation.messages import Usage

CSV = b"title,body\nLogin broken,Cannot sign in\nSlow page,Takes 10 s\n"


def test_parse_csv_reads_header_and_rows() -> None:
    """A plain CSV gives its columns and rows; the BOM and blank lines are ignored."""
    table = parse_csv(b"\xef\xbb\xbf" + CSV + b"\n\n", max_rows=10)
    assert table.columns == ("title", "body")
    assert table.rows == (("Login broken", "Cannot sign in"), ("Slow page", "Takes 10 s"))
    assert table.record(1) == {"title": "Slow page", "body": "Takes 10 s"}


def test_parse_csv_sniffs_semicolons_and_pads_short_rows() -> None:
    """Semicolon-separated files (European spreadsheets) work; short rows get empty cells."""
    table = parse_csv(b"a;b;c\n1;2;3\n4;5\n", max_rows=10)
    assert table.rows == (("1", "2", "3"), ("4", "5", ""))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"title,body\n", "no rows"),
        (b"title,title\nx,y\n", "Two columns"),
        (b"title,\nx,y\n", "no name"),
        (b"a,b\n1,2,3\n", "Row 1 has 3 cells"),
        (b"\xff\xfeb\x00", "not UTF-8"),
        (b"a\n1\n2\n3\n4\n", "more than 3 rows"),
    ],
)
def test_parse_csv_refuses_bad_files_clearly(data: bytes, message: str) -> None:
    """Each bad file gets a message naming the problem."""
    with pytest.raises(BatchInputError, match=message):
        parse_csv(data, max_rows=3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a,b\n" + b"x," * 600_000 + b"\n", "Row 1 is longer than 1,000,000 characters"),
        (b'a\n1\n"' + b"x\n" * 600_000, "Row 2 has a cell longer than 100,000 characters"),
        (b"a\n" + b"x" * 100_001 + b"\n", "Row 1 has a cell longer than 100,000 characters"),
        (b",".join(b"c%d" % i for i in range(501)) + b"\n1\n", "501 columns; a batch file"),
        (b"c" * 1_000_001 + b"\n1\n", "The header is longer than 1,000,000 characters"),
        (b",,\n\n", "first line should name the columns"),
    ],
)
def test_parse_csv_caps_rows_cells_and_columns(data: bytes, message: str) -> None:
    """An endless line, an unclosed quote, a huge cell, a header of too many columns: each is
    refused with its limit named, without reading the rest of the file."""
    with pytest.raises(BatchInputError, match=message):
        parse_csv(data, max_rows=10)


def test_parse_csv_stops_reading_at_the_first_row_past_the_cap() -> None:
    """The file is read as a stream and only up to the row past max_rows: what lies a megabyte
    further (here bytes that are not UTF-8) is never decoded, so a huge file costs what the cap
    allows."""
    data = b"title\n" + b"ticket\n" * 150_000 + b"\xff\xfe" * 1000
    with pytest.raises(BatchInputError, match="more than 3 rows"):
        parse_csv(data, max_rows=3)


def test_template_renders_columns_and_keeps_escaped_braces() -> None:
    """Placeholders take the row's values; {{ and }} stay literal braces."""
    table = parse_csv(CSV, max_rows=10)
    template = parse_template("Classify {title}: {body} as {{bug}}", table)
    assert template.fields == ("title", "body")
    assert template.render(table.record(0)) == "Classify Login broken: Cannot sign in as {bug}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Summarise {summary}", "`{summary}`, which the file does not have"),
        ("Summarise this", "names no column"),
        ("", "Write the prompt"),
        ("Bad {title", "unmatched"),
        ("Fmt {title:>10}", "not a column placeholder"),
        ("Attr {0}", "does not have"),
    ],
)
def test_template_errors_name_the_problem_and_the_columns(text: str, message: str) -> None:
    """Unknown columns, no columns, bad braces: clear messages listing the real columns."""
    table = parse_csv(CSV, max_rows=10)
    with pytest.raises(BatchInputError, match=message):
        parse_template(text, table)


def test_plan_makes_one_request_per_row_with_row_numbers_as_ids() -> None:
    """custom_id is the row number; a row whose prompt is blank is skipped with a reason."""
    table = Table(("body",), (("one",), ("  ",), ("three",)))
    plan = build_plan(
        table, parse_template("{body}", table), model="claude-haiku-5-5", max_tokens=100
    )
    assert [r.custom_id for r in plan.requests] == ["1", "3"]
    assert plan.requests[0].params == {
        "model": "claude-haiku-5-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "one"}],
    }
    assert plan.skipped == {"2": EMPTY_PROMPT}


def test_plan_can_be_limited_to_some_rows() -> None:
    """A retry plans only the rows asked for."""
    table = Table(("body",), (("a",), ("b",), ("c",)))
    plan = build_plan(
        table, parse_template("{body}", table), model="m", max_tokens=1, only=frozenset({"2"})
    )
    assert [r.custom_id for r in plan.requests] == ["2"]


def test_split_respects_request_count_and_bytes() -> None:
    """Chunks never exceed either limit and keep the order."""
    table = Table(("body",), tuple((f"row {i} " + "x" * 50,) for i in range(10)))
    plan = build_plan(table, parse_template("{body}", table), model="m", max_tokens=1)
    by_count = split(plan.requests, max_requests=3)
    assert [len(c) for c in by_count] == [3, 3, 3, 1]
    size = plan.requests[0].size
    by_bytes = split(plan.requests, max_bytes=size * 2 + 20)
    assert all(len(c) == 2 for c in by_bytes)
    assert [r.custom_id for c in by_bytes for r in c] == [str(i) for i in range(1, 11)]


def test_split_caps_at_the_api_limits() -> None:
    """Asking for more than 100,000 requests per batch still splits at 100,000."""
    table = Table(("b",), (("x",),) * 100_001)
    plan = build_plan(table, parse_template("{b}", table), model="m", max_tokens=1)
    assert [len(c) for c in split(plan.requests, max_requests=10**9)] == [100_000, 1]


def test_sample_indices_spread_over_the_file() -> None:
    """Samples include the first and the last row and never repeat."""
    assert sample_indices(3, 5) == [0, 1, 2]
    picked = sample_indices(1000, 5)
    assert picked[0] == 0
    assert picked[-1] == 999
    assert len(picked) == 5


def test_estimate_applies_the_batch_discount() -> None:
    """Input from the sampled average, output at most max_tokens a row, both at half price."""
    model = CATALOG["claude-sonnet-5-5"]  # $2 in, $10 out per million
    result = estimate(model, rows=1000, sampled=[100, 300], max_tokens=500)
    assert result.input_tokens == 200_000
    assert result.input_usd == pytest.approx(0.2)
    assert result.max_output_usd == pytest.approx(2.5)
    assert result.max_total_usd == pytest.approx(2.7)


def test_merge_matches_shuffled_results_to_rows() -> None:
    """Results in any order land on their own rows; errors and missing rows get the error column."""
    table = Table(("q",), tuple((f"q{i}",) for i in range(1, 7)))
    results = [RowResult(str(i), "succeeded", answer=f"a{i}") for i in range(1, 5)]
    results.append(RowResult("5", "errored", error="overloaded_error: busy"))
    random.Random(4).shuffle(results)
    by_id = {r.custom_id: r for r in results}
    rows = list(csv.reader(io.StringIO(output_csv(table, by_id).decode("utf-8-sig"))))
    assert rows[0] == ["q", "answer", "error"]
    assert rows[1:5] == [[f"q{i}", f"a{i}", ""] for i in range(1, 5)]
    assert rows[5] == ["q5", "", "overloaded_error: busy"]
    assert rows[6][1] == ""
    assert "no result" in rows[6][2]
    summary = summarise(table, by_id)
    assert summary.counts == {"succeeded": 4, "errored": 2}
    assert failed_rows(table, by_id) == frozenset({"5", "6"})


def test_output_csv_keeps_a_column_named_answer() -> None:
    """If the file already has `answer`, the new column gets another name."""
    table = Table(("answer",), (("mine",),))
    data = output_csv(table, {"1": RowResult("1", "succeeded", answer="Claude's")})
    assert data.decode("utf-8-sig").splitlines()[0] == "answer,claude_answer,error"


def test_batch_cost_is_half_the_catalog_price_per_row() -> None:
    """Each row is priced by its own prompt, then halved."""
    model = CATALOG["claude-haiku-5-5"]  # $0.10 in, $0.50 out per million
    results = [RowResult("1", "succeeded", usage=Usage(input_tokens=1_000_000, output_tokens=0))]
    assert batch_cost_usd(model, results) == pytest.approx(0.05 * 5)  # long-context price
    small = [RowResult(str(i), "succeeded", usage=Usage(1000, 1000)) for i in range(10)]
    assert batch_cost_usd(model, small) == pytest.approx(10 * (0.0001 + 0.0005) / 2)
    assert batch_cost_usd(None, small) == 0.0


def test_row_result_and_job_round_trip_through_json() -> None:
    """What the store writes, it reads back the same."""
    result = RowResult("7", "errored", error="x", usage=Usage(1, 2, 3, 4, 5))
    assert RowResult.from_json("7", result.to_json()) == result
    job = Job("j1", "T", "C", "1.0", "U", "m", "{a}", "f.csv", 3, batch_ids=("b1",))
    assert Job.from_json(job.to_json()) == job
    assert job.may_control("U", frozenset())
    assert job.may_control("A", frozenset({"A"}))
    assert not job.may_control("B", frozenset({"A"}))


def test_backoff_grows_and_is_capped() -> None:
    """Checks start at the first interval and slow down to the cap."""
    assert next_interval(0, first=2, most=10) == 2
    assert next_interval(2, first=2, most=10) == 3
    assert next_interval(8, first=2, most=10) == 10
