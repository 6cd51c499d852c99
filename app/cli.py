"""`omnistock`: the operator's command line."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from app.access.keys import IssuedKey, create_api_key, list_api_keys, revoke_api_key
from app.access.staff import create_staff
from app.audit.auditing import AuditView, audit_books
from app.bootstrap import AppContext, build_context
from app.config import Settings
from app.demo import seed_demo, seed_demo_staff, seed_desk_work
from app.platform import migrate
from app.platform.access import KEY_ROLES, STAFF_ROLES, Role
from app.platform.errors import DomainError
from app.platform.logging import configure_logging

T = TypeVar("T")


@click.group()
def main() -> None:
    """Omnistock: one inventory and order ledger for every sales channel."""
    configure_logging(Settings.from_env().log_level)  # JSON on stderr: stdout is the answer


@main.command("migrate")
def migrate_command() -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    settings = Settings.from_env()
    migrate.upgrade(settings.database_url)
    click.echo("database is at the latest schema")


@main.group()
def keys() -> None:
    """API keys."""


def run_with_context(use: Callable[[AppContext], Awaitable[T]], settings: Settings) -> T:
    """Run a use case as the processes do: over a context built from the settings, whose
    database pool is closed afterwards."""

    async def run() -> T:
        ctx = build_context(settings)
        try:
            return await use(ctx)
        finally:
            await ctx.db.dispose()

    return asyncio.run(run())


@keys.command("create")
@click.option("--role", type=click.Choice(sorted(r.value for r in KEY_ROLES)), required=True)
@click.option("--location", default=None, help="Location code (pos keys only).")
@click.option("--name", default=None, help="A label for the key; defaults to the role.")
@click.option(
    "--first",
    is_flag=True,
    help="Only if no active key of this role exists (a deployment's first admin key).",
)
def create_key(role: str, location: str | None, name: str | None, first: bool) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    settings, wanted = Settings.from_env(), Role(role)
    if first and any(
        k.role == wanted.value and k.revoked_at is None
        for k in run_with_context(lambda ctx: list_api_keys(ctx, None), settings)
    ):
        click.echo(f"an active {role} key exists already: none created", err=True)
        return
    issued = run_with_context(
        lambda ctx: create_api_key(
            ctx, None, name=name or wanted.value, role=wanted, location=location
        ),
        settings,
    )
    click.echo(issued.secret)


@keys.command("list")
def list_keys() -> None:
    """Every key (never a secret): id, role, location, name, created, revoked."""
    for key in run_with_context(lambda ctx: list_api_keys(ctx, None), Settings.from_env()):
        revoked = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        click.echo(f"{key.id}  {key.role:<10} {key.location or '-':<10} {revoked:<24} {key.name}")


@keys.command("revoke")
@click.argument("key_id", type=click.UUID)
def revoke_key(key_id: uuid.UUID) -> None:
    """Revoke a key; every API process refuses it within a second."""
    revoked = run_with_context(lambda ctx: revoke_api_key(ctx, None, key_id), Settings.from_env())
    click.echo(f"revoked {revoked.id}")


@main.group()
def staff() -> None:
    """People of the staff, who sign in with email and password."""


def _read_password() -> str:
    """Hidden at a terminal (asked twice); one line of stdin when piped."""
    if sys.stdin.isatty():
        password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    return sys.stdin.readline().rstrip("\r\n")


@staff.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(sorted(r.value for r in STAFF_ROLES)), required=True)
@click.option(
    "--location", "locations", multiple=True, required=True, help="Location code (repeatable)."
)
def create_staff_member(email: str, name: str, role: str, locations: tuple[str, ...]) -> None:
    """Add a person (e.g. a first manager) without the API; the password is read from a hidden
    prompt, or from stdin, never from the command line."""
    password = _read_password()
    try:
        made = run_with_context(
            lambda ctx: create_staff(
                ctx,
                None,
                email=email,
                name=name,
                role=role,
                locations=list(locations),
                password=password,
            ),
            Settings.from_env(),
        )
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{made.id}  {made.email}  {made.role}  {','.join(made.locations)}")


@main.command("seed-demo")
def seed_demo_command() -> None:
    """Load the demo stores, warehouse and catalogue (once)."""
    seeded = run_with_context(seed_demo, Settings.from_env())
    click.echo("demo data loaded" if seeded else "demo data already present")


def _print_audit(view: AuditView) -> None:
    run = view.run
    click.echo(
        f"{'full' if run.full else 'incremental'} audit"
        + (f" of changes after {run.changed_after.isoformat()}" if run.changed_after else "")
        + f": {run.levels_selected} levels selected, {run.levels_examined} examined,"
        f" {run.movements_read} movements and {run.events_read} events read"
        + (f"; checkpoint {run.checkpoint_id}" if run.advanced else "; checkpoint not moved")
    )
    for stored in view.open_findings:
        f = stored.finding
        location, sku = view.codes.get(f.key, ("?", "?"))
        click.echo(
            f"OPEN {f.kind:<10} {location} {sku}: {f.summary}"
            f" (since {stored.first_seen_at.isoformat()})"
        )
        click.echo(f"     expected {f.expected}  found {f.found}  rows {f.rows}")
    if view.open_findings:
        click.echo(f"{len(view.open_findings)} open finding(s)")
    else:
        click.echo("the books agree: no open findings")


@main.command("audit")
@click.option("--full", is_flag=True, help="Re-audit every level from the whole ledger.")
def audit_command(full: bool) -> None:
    """Audit the books from the last checkpoint and advance it; print the open findings and
    exit 1 while any is open."""
    settings = Settings.from_env()
    view = run_with_context(
        lambda ctx: audit_books(
            ctx,
            None,
            full=full,
            retention_days=settings.event_retention_days,
            actor="omnistock audit",
        ),
        settings,
    )
    _print_audit(view)
    if not view.is_clean:
        sys.exit(1)


STOP_GRACE_SECONDS = 5
"""How long a stopping API worker may finish its requests (and streams) before it is killed."""


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=1, show_default=True)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API with granian: its HTTP handling is native code, which leaves the Python
    workers' CPU for requests (1.5x the lookups of uvicorn on the same two cores, see
    bench/). A worker that dies is started again."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    Granian(
        "app.main:app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        log_level=LogLevels.warning,
        respawn_failed_workers=True,
        # a client that has not sent its headers within 10 s is dropped (bodies: 30 s, see
        # app/platform/http/limits.py)
        http1_settings=HTTP1Settings(header_read_timeout=10_000),
        # open event streams never end by themselves: a worker still serving them this long
        # after SIGTERM is stopped (their clients resume with Last-Event-ID elsewhere)
        workers_kill_timeout=STOP_GRACE_SECONDS,
    ).serve()


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
def demo(host: str, port: int) -> None:
    """Migrate, load demo data, print demo API keys and serve the API."""
    # Without Stripe, the demo's web and app orders are pickup orders paid when collected.
    os.environ.setdefault("PAYMENTS", "at_counter")
    settings = Settings.from_env()
    migrate.upgrade(settings.database_url)
    seeded = run_with_context(seed_demo, settings)
    if seeded:
        run_with_context(seed_desk_work, settings)
    people = run_with_context(seed_demo_staff, settings)
    issued = run_with_context(_demo_keys, settings)
    base = f"http://{host}:{port}"
    click.echo(f"\nOmnistock is running on {base}")
    click.echo(f"  OpenAPI UI: {base}/schema   (Swagger: {base}/schema/swagger)")
    click.echo(f"  database:   {settings.database_url}")
    click.echo(f"  payments:   {settings.payment_mode}")
    click.echo("\nDemo API keys (shown once; new ones are made at every start):")
    for key in issued:
        where = f" @ {key.principal.location}" if key.principal.location else ""
        click.echo(f"  {key.principal.role.value:<11}{where:<11} {key.secret}")
    click.echo(f"\nStaff console: {base}/console   (sign in as one of these people)")
    for person in people:
        click.echo(f"  {person.role:<11}@ {person.store:<9} {person.email}  {person.password}")
    admin = issued[0].secret
    click.echo("\nTry:")
    click.echo(f"  curl -H 'Authorization: Bearer {admin}' {base}/v1/stock/TEE-BLK-M")
    click.echo(
        f"  curl -H 'Authorization: Bearer {admin}' "
        f"'{base}/v1/availability?sku=TEE-BLK-M&latitude=51.5136&longitude=-0.1365'"
    )
    click.echo(
        "  the pickup code a customer was sent (the log masks it), ID from /v1/orders/NUMBER:"
    )
    click.echo(f"  curl -H 'Authorization: Bearer {admin}' '{base}/v1/notifications?order_id=ID'")
    click.echo("")
    sys.stdout.flush()
    serve.callback(host=host, port=port, workers=1)  # type: ignore[misc]


async def _demo_keys(ctx: AppContext) -> list[IssuedKey]:
    return [
        await create_api_key(ctx, None, name=f"demo-{role.value}", role=role, location=location)
        for role, location in [
            (Role.ADMIN, None),
            (Role.STOREFRONT, None),
            (Role.MOBILE, None),
            (Role.POS, "LDN-OXF"),
            (Role.READONLY, None),
        ]
    ]


@main.command("worker", context_settings={"ignore_unknown_options": True})
@click.option("--processes", default=2, show_default=True)
@click.option("--threads", default=4, show_default=True)
@click.argument("dramatiq_args", nargs=-1, type=click.UNPROCESSED)
def worker(processes: int, threads: int, dramatiq_args: tuple[str, ...]) -> None:
    """Run Dramatiq worker processes (needs REDIS_URL); each also runs the schedule, so the
    API and workers are a whole system. Extra arguments go to dramatiq."""
    if not Settings.from_env().redis_url:
        raise click.UsageError("set REDIS_URL: without Redis the API runs the workers itself")
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "dramatiq",
            "workers.actors",
            "--processes",
            str(processes),
            "--threads",
            str(threads),
            *dramatiq_args,
        ],
    )


@main.command("scheduler")
def scheduler() -> None:
    """Enqueue the periodic jobs without working them (optional: workers run the schedule)."""
    from workers.actors import broker
    from workers.scheduler import Scheduler, periodic_jobs

    settings = Settings.from_env()
    if not settings.redis_url:
        raise click.UsageError("set REDIS_URL: without Redis the API runs the scheduler itself")
    Scheduler(periodic_jobs(broker, settings), settings.redis_url).run_forever()


if __name__ == "__main__":
    main()
