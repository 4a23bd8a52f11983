"""``python -m bench --only``: a re-run replaces its sections in place, adds one the report lacks, stamps the run."""

from __future__ import annotations

from bench.partial import before_line, previous_rows, update_document

REPORT = """# Performance

## Machine

| fact | value |
| --- | --- |
| CPUs | 2 |

## Request overhead

old overhead

## Lambda package size

zip
"""


def _update(replaced: dict[str, str]) -> str:
    return update_document(REPORT, replaced, [], sections=["overhead"], commit="abc123", load="load 1.0")


def test_a_rerun_section_replaces_its_own_and_leaves_the_rest() -> None:
    document = _update({"## Request overhead": "new overhead"})
    assert "new overhead" in document
    assert "old overhead" not in document
    assert document.index("## Request overhead") < document.index("## Lambda package size\n\nzip")


def test_a_section_the_report_lacks_is_added_at_its_end() -> None:
    document = _update({"## Delivery platforms (iFood events polled into orders)": "orders per second"})
    assert document.endswith("## Delivery platforms (iFood events polled into orders)\n\norders per second\n")
    assert "old overhead" in document


def test_the_machine_table_says_what_was_rerun_at_which_commit() -> None:
    lines = _update({}).split("\n")
    [row] = [line for line in lines if line.startswith("| re-run |")]
    assert "overhead" in row
    assert "commit abc123" in row
    assert "load 1.0" in row
    assert lines.index(row) == lines.index("| CPUs | 2 |") + 1


def test_an_earlier_rerun_of_other_sections_keeps_its_row() -> None:
    earlier = update_document(REPORT, {}, [], sections=["cold-start", "overhead"], commit="c0ffee", load="load 9")
    document = update_document(earlier, {}, [], sections=["delivery"], commit="abc123", load="load 1")
    rows = [line for line in document.split("\n") if line.startswith("| re-run |")]
    assert [row.split(" at ")[0] for row in rows] == ["| re-run | cold-start, overhead", "| re-run | delivery"]
    again = update_document(document, {}, [], sections=["overhead", "cold-start"], commit="f00d", load="load 2")
    assert sum("c0ffee" in line for line in again.split("\n")) == 0


def test_a_rerun_can_quote_the_rows_of_its_sections_previous_run() -> None:
    document = REPORT.replace("zip\n", "| asset | zipped |\n| --- | ---: |\n| webhook function `meta` | 25.3 MiB |\n")
    rows = previous_rows(document, "## Lambda package size")
    assert rows == [["webhook function `meta`", "25.3 MiB"]]
    assert previous_rows(document, "## Request overhead") == []
    assert before_line([(rows[0][0], rows[0][1])], "zipped") == (
        "\n\nBefore (this section's previous run, zipped): webhook function `meta` 25.3 MiB."
    )
    assert before_line([], "zipped") == ""
