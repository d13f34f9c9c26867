"""`segments`: the command line of the platform. Heavy imports happen inside each command."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import click

from orchestration.environment import configure_process

DEMO_CUSTOMERS = 2000
DEMO_DAYS = 120


def _parse_day(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from exc


@click.group(help="Customer segmentation platform. Everything is written under $SEGMENTS_HOME (default ./data).")
def main() -> None:
    pass


@main.command(help="Write a synthetic shop (events, customers, products, campaigns) into the landing zone.")
@click.option("--customers", type=click.IntRange(min=1), default=DEMO_CUSTOMERS, show_default=True)
@click.option("--days", type=click.IntRange(min=1), default=DEMO_DAYS, show_default=True)
@click.option("--start", callback=_parse_day, help="First day (YYYY-MM-DD); default: DAYS days before today.")
@click.option("--seed", type=int, default=42, show_default=True)
def generate(customers: int, days: int, start: date | None, seed: int) -> None:
    from shop.simulator import generate as generate_shop

    home = configure_process()
    summary = generate_shop(home, customers=customers, days=days, start=start, seed=seed)
    click.echo(
        f"generated {summary['events']:,} events for {summary['customers']:,} customers, "
        f"{summary['start']} .. {summary['end']} -> {home.landing}"
    )


@main.command(name="import", help="Map a foreign file onto the event contract and land it.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--mapping", required=True, help="Shipped mapping name (cdnow, online_retail, rees46) or a YAML file.")
def import_(path: str, mapping: str) -> None:
    from shop.importers import import_file

    home = configure_process()
    report = import_file(path, mapping, home)
    click.echo(report.describe())
    if not report.reconciles:
        raise click.ClickException("read != accepted + quarantined: refusing to call this import good")


@main.command(help="Materialize every asset for a partition range, as a scheduled run or UI backfill would; a range "
                   "too big for one run (SEGMENTS_RUN_ROW_BUDGET rows) runs as consecutive runs.")
@click.option("--start", callback=_parse_day, help="First day; default: the first landed day.")
@click.option("--end", callback=_parse_day, help="Last day (inclusive); default: START, or the last landed day.")
@click.option("--all", "all_days", is_flag=True, help="Every landed day.")
def run(start: date | None, end: date | None, all_days: bool) -> None:
    from orchestration.partitions import landing_days
    from orchestration.runner import run_in_windows

    home = configure_process()
    days = landing_days(home.landing / "events")
    if all_days or start is None:
        if not days:
            raise click.ClickException(f"nothing landed under {home.landing / 'events'}: run `segments generate` or `segments import`")
        start = start or days[0]
        end = end or days[-1]
    end = end or start
    if end < start:
        raise click.BadParameter(f"--end {end} is before --start {start}")
    try:
        summaries = run_in_windows(start, end, home, started=_announce_window(start, end), finished=_report_run)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if not summaries[-1].success:
        sys.exit(1)


def _report_run(summary) -> None:
    click.echo(f"run {summary.run_id}: {'ok' if summary.success else 'FAILED'} in {summary.seconds:.0f}s "
               f"({summary.first} .. {summary.last})")


def _announce_window(start: date, end: date):
    """Says so when a long range is split into several runs (orchestration/run_plan.py)."""
    def started(first: date, last: date) -> None:
        if (first, last) != (start, end):
            click.echo(f"running {first} .. {last} of {start} .. {end} (runs sized by SEGMENTS_RUN_ROW_BUDGET)")
    return started


@main.command(help="Generate a small shop, run all its days, and print what was built and where.")
@click.option("--customers", type=click.IntRange(min=1), default=DEMO_CUSTOMERS, show_default=True)
@click.option("--days", type=click.IntRange(min=1), default=DEMO_DAYS, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.pass_context
def demo(ctx: click.Context, customers: int, days: int, seed: int) -> None:
    from orchestration.summary import describe_home

    ctx.invoke(generate, customers=customers, days=days, start=None, seed=seed)
    ctx.invoke(run, start=None, end=None, all_days=True)
    click.echo(describe_home(configure_process()))


@main.command(help="Write a segment's audience for a marketing tool: consented members only, with a control flag.")
@click.option("--segment", required=True, help="Segment name (see segments.yml, or cluster_<name>).")
@click.option("--date", "as_of", callback=_parse_day, help="Membership day; default: the latest built day.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "jsonl"]), default="csv", show_default=True)
@click.option("--channel", type=click.Choice(["email", "push", "any"]), default="email", show_default=True,
              help="Consent that must allow the channel.")
@click.option("--control-share", type=click.FloatRange(0, 1, max_open=True), default=0.1, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Output file; default: $SEGMENTS_HOME/exports/<segment>/<date>/.")
def export(segment: str, as_of: date | None, fmt: str, channel: str, control_share: float, out: str | None) -> None:
    from pathlib import Path

    from activation import export_audience

    home = configure_process()
    try:
        manifest = export_audience(home, segment, as_of, fmt, Path(out) if out else None, channel=channel,
                                   control_share=control_share)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{manifest.rows:,} customers of {manifest.segment!r} on {manifest.as_of} ({manifest.control_rows:,} held out as control; "
        f"{manifest.excluded_no_consent:,} without {channel} consent left out) -> {manifest.path}\nmanifest: {manifest.manifest_path}"
    )


@main.command(help="Erase a customer from landing, lake, warehouse, serving copy, exports and MLflow artifacts; "
                   "keep them out of later loads; write an audit record.")
@click.argument("customer_id")
@click.option("--reason", help="Why (e.g. a request reference); stored in the audit record, so no personal data.")
def forget(customer_id: str, reason: str | None) -> None:
    from privacy.erase import forget as erase_customer
    from privacy.warehouse import WarehouseLocked

    home = configure_process()
    try:
        report = erase_customer(home, customer_id, reason)
    except (WarehouseLocked, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(str(report))
    if not report.complete:
        raise click.ClickException("erasure incomplete: see PROBLEM / LEFT above (the audit record lists them too)")


@main.command(help="Registered models: versions, gate outcomes, key metrics and aliases (champion).")
@click.argument("name", required=False)
def models(name: str | None) -> None:
    from ml.registry import ensure_tracking, list_versions
    from orchestration.model_listing import format_versions

    home = configure_process()
    ensure_tracking(home.root)
    click.echo(format_versions(list_versions(home.root, name)))


@main.command(help="Move a model's champion alias back to an earlier version.")
@click.argument("name")
@click.argument("version")
def rollback(name: str, version: str) -> None:
    from ml.registry import ensure_tracking
    from ml.registry import rollback as move_champion

    home = configure_process()
    ensure_tracking(home.root)
    try:
        moved = move_champion(home.root, name, version)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{moved['name']}: champion {moved['previous']} -> {moved['champion']}")


@main.command(help="What the home holds: tables, row counts, paths.")
def status() -> None:
    from orchestration.summary import describe_home

    click.echo(describe_home(configure_process()))


@main.group(help="The Apache Superset example over the serving copy (its own venv under the home, ~700 MB).")
def bi() -> None:
    pass


def _bi_script(name: str) -> None:
    from orchestration.resources import REPO_ROOT

    configure_process()
    script = REPO_ROOT / "bi" / "superset" / name
    os.execv("/bin/bash", ["/bin/bash", str(script)])


@bi.command(name="provision", help="Install Superset (once), set it up and import the 'Customer segments' dashboard.")
def bi_provision() -> None:
    _bi_script("provision.sh")


@bi.command(name="serve", help="Serve Superset on http://127.0.0.1:8088 (log in as admin; password in $SEGMENTS_HOME/superset).")
def bi_serve() -> None:
    _bi_script("serve.sh")


@main.command(help="Open the Dagster UI on this home (localhost only).")
@click.option("--port", type=int, default=3000, show_default=True)
def ui(port: int) -> None:
    from ml.registry import ensure_tracking
    from orchestration.resources import REPO_ROOT

    ensure_tracking(configure_process().root)
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    os.execv(dagster, [dagster, "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)])


@main.command(name="mlflow", help="Open the MLflow UI on this home's tracking store (localhost only).")
@click.option("--port", type=int, default=5000, show_default=True)
def mlflow_ui(port: int) -> None:
    from ml.registry import ensure_tracking

    home = configure_process()
    ensure_tracking(home.root)
    os.environ["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    mlflow = os.path.join(os.path.dirname(sys.executable), "mlflow")
    args = [mlflow, "server", "--backend-store-uri", home.mlflow_uri, "--default-artifact-root", str(home.mlflow_artifacts),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    subprocess.run(args, check=False)


if __name__ == "__main__":
    main()
