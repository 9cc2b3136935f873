"""Plot assets (one per figure of ``pipeline.plots.FIGURES``) and the HTML report asset.

Why one multi-asset step for all figures: each figure is its own asset (own page, own history, own preview in the
UI), but rendering them in one step shares a single read-only warehouse connection and one matplotlib import
instead of one process per figure. ``can_subset`` keeps "materialize just this plot" working from the UI. Previews
are 200-px thumbnails: full-size base64 would bloat the event log.
"""

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
REPORT_GROUP = "report"


def plot_key(name: str) -> AssetKey:
    return AssetKey(f"plot_{name}")


def figure_metadata(result: Any) -> dict[str, Any]:
    """Path, inline thumbnail and the printed numbers of one rendered figure."""
    from pipeline.plots import thumbnail_data_uri

    metadata: dict[str, Any] = {
        "path": MetadataValue.path(str(result.png)),
        "preview": MetadataValue.md(f"![{result.name}]({thumbnail_data_uri(result.png)})"),
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
        from pipeline.plots import open_warehouse, render_figure

        paths = storage.paths()
        wanted = {key.path[-1].removeprefix("plot_") for key in context.selected_asset_keys}
        con = open_warehouse(paths)
        try:
            for name in FIGURES:
                if name in wanted:
                    result = render_figure(name, paths, con=con)
                    yield MaterializeResult(asset_key=plot_key(name), metadata=figure_metadata(result))
        finally:
            if con is not None:
                con.close()

    return plots


def build_report_asset(plot_assets: Any):  # type: ignore[no-untyped-def]
    @asset(
        name="sleep_report",
        group_name=REPORT_GROUP,
        deps=list(plot_assets.keys),
        automation_condition=whole_history_condition(),
        kinds={"html"},
        description="report/report.html: a self-contained static report (figures embedded, key numbers, date "
        "range and data coverage). Updates itself after the plots.",
    )
    def sleep_report(context: AssetExecutionContext, storage: StorageResource) -> MaterializeResult:
        from pipeline.report import build_report

        path = build_report(storage.paths())
        return MaterializeResult(
            metadata={"path": MetadataValue.path(str(path)), "size_bytes": path.stat().st_size}
        )

    return sleep_report
