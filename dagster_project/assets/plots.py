"""Plot assets (one per figure of ``pipeline.plots.FIGURES``) and the HTML report asset.

Why one multi-asset step for all figures: each figure is its own asset (own page, own history, own preview in the
UI), but rendering them in one step shares one matplotlib import instead of one process per figure (each figure
opens and closes its own read-only warehouse connection: cheap, and the memory DuckDB holds goes with it). ``can_subset`` keeps "materialize just this plot" working from the UI.

What the asset pages can show (Dagster 1.13, checked in chromium by ``make ui-check``): the webserver serves no
files, so a figure reaches the page only inside the metadata, as a markdown image with a ``data:`` URI. Markdown
under 1,000 characters is shown inline; anything longer (any legible image) is a "[Show Markdown]" link whose
dialog grows with the image up to 80 % of the window. So ``preview`` is the figure at ``PREVIEW_MAX_WIDTH`` px
(legible in that dialog; 15-65 kB each), and the report's key numbers are short markdown tables shown inline.
"""

import gc
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from dagster_project.assets.warehouse import whole_history_condition
from dagster_project.resources import StorageResource

PLOTS_GROUP = "plots"
# Values of the inline tables keep to one line: the UI's value column is narrow and splits "2024-11-28" after a
# hyphen and "7.5 %" before the unit. Display only: the report and the SQL have the plain text.
NO_BREAK = str.maketrans({" ": "\u00a0", "-": "\u2011"})
REPORT_GROUP = "report"


def plot_key(name: str) -> AssetKey:
    return AssetKey(f"plot_{name}")


def figure_metadata(result: Any) -> dict[str, Any]:
    """The legible preview (first, so it is the first row), the file paths and the printed numbers of one figure."""
    from pipeline.plots import FIGURES, preview_data_uri

    metadata: dict[str, Any] = {
        "preview": MetadataValue.md(f"![{FIGURES[result.name].title}]({preview_data_uri(result.png)})"),
        "path": MetadataValue.path(str(result.png)),
    }
    if result.svg is not None:
        metadata["svg_path"] = MetadataValue.path(str(result.svg))
    for key, value in (result.stats or {}).items():
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            metadata[f"stat_{key}"] = value
    return metadata


def build_plots(warehouse: Any):  # type: ignore[no-untyped-def]
    from pipeline.plots import FIGURES

    specs = [
        AssetSpec(
            plot_key(name),
            deps=[warehouse],
            group_name=PLOTS_GROUP,
            description=spec.description,
            automation_condition=whole_history_condition(),
            kinds={"matplotlib", "png"},
            skippable=True,
        )
        for name, spec in FIGURES.items()
    ]

    @multi_asset(name="plots", specs=specs, can_subset=True)
    def plots(context: AssetExecutionContext, storage: StorageResource) -> Iterator[MaterializeResult]:
        from pipeline.plots import render_figure

        paths = storage.paths()
        wanted = {key.path[-1].removeprefix("plot_") for key in context.selected_asset_keys}
        for name in FIGURES:
            if name in wanted:
                # Each figure reads on its own read-only connection, closed before drawing: one connection kept
                # open across all figures held ~45 MB of DuckDB memory until the last one (bench_history's peak).
                result = render_figure(name, paths)
                yield MaterializeResult(asset_key=plot_key(name), metadata=figure_metadata(result))
                # A matplotlib Figure and its canvas form a reference cycle, so each figure's Agg buffers waited for
                # a full collection: rendering all figures crept up ~30 MB. The young generations hold them: cheap.
                gc.collect(1)

    return plots


def markdown_table(rows: tuple[tuple[str, str], ...], header: tuple[str, str]) -> str:
    """A two-column markdown table: the UI shows it inline when under 1,000 characters; values do not wrap."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [f"| {header[0]} | {header[1]} |", "|---|---:|"]
    lines += [f"| {cell(label)} | {cell(value).translate(NO_BREAK)} |" for label, value in rows]
    return "\n".join(lines)


NO_DATA_MARKDOWN = (
    "**No sleep data yet.** Import your account archive (`fitbit-sleep import MyFitbitData.zip`) or backfill "
    "from the API (`fitbit-sleep backfill --start YYYY-MM-DD --end YYYY-MM-DD`); the report says the same."
)
NO_SCORES_MARKDOWN = (
    "No Sleep Scores: they come only with your account archive (`fitbit-sleep import <zip>`)."
)


def report_metadata(result: Any) -> dict[str, Any]:
    """The report's numbers as inline tables, then where the file is (the UI's copy button copies the path)."""
    if result.has_sleep:
        numbers = markdown_table(result.key_numbers, ("Key number", "Value"))
        scores = (
            markdown_table(result.score_numbers, ("Sleep Score", "Value")) if result.score_numbers else None
        )
    else:
        numbers, scores = NO_DATA_MARKDOWN, None
    return {
        "key_numbers": MetadataValue.md(numbers),
        "sleep_scores": MetadataValue.md(scores or NO_SCORES_MARKDOWN),
        "path": MetadataValue.path(str(result.path)),
        "size_bytes": result.path.stat().st_size,
        "figures_embedded": result.figures,
    }


def build_report_asset(plot_assets: Any):  # type: ignore[no-untyped-def]
    @asset(
        name="sleep_report",
        group_name=REPORT_GROUP,
        deps=list(plot_assets.keys),
        automation_condition=whole_history_condition(),
        kinds={"html"},
        description="report/report.html: a self-contained static report (key numbers, Sleep Scores, date range, "
        "coverage, every figure embedded). Its key numbers and Sleep Scores are below; to read the whole report, "
        "copy the `path` row (copy button) into your browser's address bar. Updates itself after the plots.",
    )
    def sleep_report(context: AssetExecutionContext, storage: StorageResource) -> MaterializeResult:
        from pipeline.participants import list_participants
        from pipeline.report import write_report

        paths = storage.paths()
        metadata = report_metadata(write_report(paths))
        # a cohort: its page too (report --cohort)
        if [p.id for p in list_participants(paths)] != ["default"]:
            from pipeline.cohort_report import write_cohort_report

            metadata["cohort_path"] = MetadataValue.path(str(write_cohort_report(paths).path))
        return MaterializeResult(metadata=metadata)

    return sleep_report
