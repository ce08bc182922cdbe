"""Operator commands: `flask --app portal demo`, `flask --app portal user create ...`."""
import json
import time

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from portal.extensions import db
from services.accounts import users
from services.bookings import conflicts, replacement, risk_free
from services.channels import ari, connections, ical, outbox, reservations
from services.properties import demo, registry
from services.core.errors import Conflict, Invalid, NotFound
from services.core import analyze
from services.core.db import use_case
from services.models import CHANNELS, INVENTORY_MODES, REVIEW_PARTNERS, Property
from services.accounts.users import create_user
from services.properties.registry import ensure_office


def register(app) -> None:
    app.cli.add_command(_db_group(), "db")  # Flask-Migrate's, with `upgrade` followed by ANALYZE

    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no property yet.")
    @click.option("--quiet", is_flag=True, help="Print nothing (make run prints the logins itself).")
    def demo_command(if_empty, quiet):
        """Load demo data (idempotent) and print every login."""
        if if_empty and not demo.can_load(db.session):
            if not quiet:
                click.echo("The database has data already; no demo loaded.")
            return
        created = demo.load(db.session)
        if not quiet:
            click.echo("Demo data loaded." if created else "Demo data was there already.")
            _echo_logins(demo.LOGINS)

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    def serve(host, port):
        """Serve the portal for trying it out (`make run`): the URL and the demo logins, then one
        line per request. For real use run gunicorn (README, "Running it for real")."""
        from werkzeug.serving import make_server  # only this development command needs it

        server = make_server(host, port, app, threaded=True)
        click.echo(f"Hotelier portal: http://{host}:{server.port}/  (Ctrl+C stops it)")
        _echo_logins(demo.present_logins(db.session))
        if not app.config.get("MAIL_SERVER"):
            click.echo(f"No MAIL_SERVER: invitations and password links are written to {app.config['MAIL_FOLDER']}/ "
                       "as .eml files (the worker writes them).")
        db.session.remove()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass

    user = AppGroup("user", help="Manage accounts.")
    app.cli.add_command(user)

    @user.command("create")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--role", type=click.Choice(["staff", "admin", "host"]), required=True)
    @click.option("--office", help="Tourist office name (staff only); created if new.")
    @click.password_option()
    def create(email, name, role, office, password):
        """Create an account: staff of a tourist office, an admin (of no office), or a host."""
        off = ensure_office(db.session, office) if office else None
        try:
            u = create_user(db.session, email, name, password, role, off)
        except Invalid as e:
            raise click.ClickException("; ".join(f"{k}: {v}" for k, v in e.errors.items()))
        db.session.commit()
        click.echo(f"Created {u.role} {u.email}" + (f" of {off.name}" if off else ""))

    @user.command("sign-out")
    @click.option("--email", required=True)
    def sign_out(email):
        """End every session of an account at once (a lost phone, a leaked cookie)."""
        try:
            u = users.sign_out_by_email(db.session, email)
        except NotFound:
            raise click.ClickException(f"No account with e-mail {email!r}.")
        click.echo(f"Every session of {u.email} has ended.")

    api_key = AppGroup("api-key", help="API keys of channel connections.")
    app.cli.add_command(api_key)

    @api_key.command("create")
    @click.option("--property", "slug", required=True, help="The property's slug.")
    @click.option("--channel", required=True, type=click.Choice(sorted(connections.MODULES)),
                  help="A booking channel, or a review partner (holidaycheck: a key that may only send reviews).")
    @click.option("--hold-minutes", default=60, show_default=True, type=int)
    @click.option("--webhook-url", default="")
    @click.option("--mode", "inventory_mode", type=click.Choice(INVENTORY_MODES), default=None,
                  help="request: the portal decides, 409 when a stay can't be had; notify: the channel has already "
                       "sold, never refused. Default: notify for booking and e-domizil, request otherwise "
                       "(a connection switched on again keeps its mode).")
    def create_key(slug, channel, hold_minutes, webhook_url, inventory_mode):
        """Switch a channel on for a property and print its new key (alone on the last line)."""
        prop = registry.property_by_slug(db.session, slug)
        if prop is None:
            raise click.ClickException(f"No property with slug {slug!r}.")
        try:
            conn, key = connections.switch_on(db.session, None, prop, channel, hold_minutes, webhook_url,
                                              inventory_mode=inventory_mode)
        except Invalid as e:
            raise click.ClickException("; ".join(f"{k}: {v}" for k, v in e.errors.items()))
        if conn.scope == "reviews":
            click.echo(f"Connection {conn.id}: {prop.slug} <-> {channel}, scope reviews (reviews only), "
                       f"webhook signing secret {conn.webhook_secret}")
        else:
            click.echo(f"Connection {conn.id}: {prop.slug} <-> {channel}, hold {conn.hold_minutes} min, "
                       f"payment {conn.payment_mode}, inventory mode {conn.inventory_mode}, "
                       f"webhook signing secret {conn.webhook_secret}")
        click.echo(key)

    reviews_group = AppGroup("reviews", help="Guest reviews from a review partner (R60-R64).")
    app.cli.add_command(reviews_group)

    @reviews_group.command("import")
    @click.argument("file", type=click.File("rb"))
    @click.option("--property", "slug", help="The property's slug (default: the one property the partner is "
                                             "switched on for).")
    @click.option("--partner", default="holidaycheck", show_default=True, type=click.Choice(sorted(REVIEW_PARTNERS)))
    def reviews_import(file, slug, partner):
        """Import reviews from a JSON file: a list of records as POST /api/v1/reviews takes them, or
        {"reviews": [...], "partner_totals": {"count": .., "average": ..}}. All or nothing: one
        transaction for the file; each error is printed with its record's index (from 0) and field."""
        from portal.blueprints.api import schemas
        from services.reviews import intake

        conn = _review_connection(slug, REVIEW_PARTNERS[partner])
        try:
            data = json.load(file)
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            raise click.ClickException(f"{file.name}: not JSON ({e}).")
        records, totals = data, None
        if isinstance(data, dict):
            unknown = sorted(set(data) - {"reviews", "partner_totals"})
            if unknown or not isinstance(data.get("reviews", []), list):
                raise click.ClickException('Use a list of reviews, or {"reviews": [...], "partner_totals": {...}}.')
            records = data.get("reviews", [])
            if data.get("partner_totals") is not None:
                try:
                    totals = schemas.totals_input(data["partner_totals"])
                except Invalid as e:
                    raise click.ClickException("; ".join(f"{k}: {v}" for k, v in e.errors.items()))
        elif not isinstance(data, list):
            raise click.ClickException('Use a list of reviews, or {"reviews": [...], "partner_totals": {...}}.')
        try:
            done = intake.import_records(db.session, conn, records, totals, schemas.review_input)
        except Invalid as e:
            for k, v in e.errors.items():
                where, _, name = k.partition("].")
                click.echo(f"record {where[1:]}, {name}: {v}" if k.startswith("[") and name else f"{k}: {v}", err=True)
            raise click.ClickException(f"Nothing imported: {len(e.errors)} error(s) in {file.name}.")
        click.echo(f"{conn.prop.slug}: {done.created} created, {done.updated} updated"
                   + (f"; partner totals {totals.count} reviews, average {totals.average}" if totals else ""))

    risk_free_group = AppGroup("risk-free", help="The risk-free programme (R50, R59).")
    app.cli.add_command(risk_free_group)

    @risk_free_group.command("eligible")
    @click.option("--property", "slug", required=True, help="The property's slug.")
    @click.option("--off", is_flag=True, help="Withdraw the offer (the host leaves the programme too).")
    def risk_free_eligible(slug, off):
        """Offer the risk-free programme to a property (the platform decides who may join), or withdraw it."""
        prop = registry.property_by_slug(db.session, slug)
        if prop is None:
            raise click.ClickException(f"No property with slug {slug!r}.")
        changed = risk_free.set_eligible(db.session, None, prop, not off)
        state = "not eligible" if off else "eligible"
        click.echo(f"{prop.slug}: {state} for the risk-free programme" + ("" if changed else " (unchanged)"))

    @risk_free_group.command("settle")
    @click.option("--date", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Settle arrivals up to this day (YYYY-MM-DD); default: today where each property is.")
    def risk_free_settle(on):
        """Pay the room-nights still searching a replacement guest on the scheduled arrival day (R55, R59)."""
        for line in _settle(on.date() if on else None, always=True):
            click.echo(line)

    outbox = AppGroup("outbox", help="Deliver webhooks and e-mails.")
    app.cli.add_command(outbox)

    @outbox.command("deliver")
    def deliver():
        """Send due webhooks (signed, retried with backoff) and e-mails (when MAIL_SERVER is set; without
        it, account e-mails are written to MAIL_FOLDER)."""
        hooks, mails = _deliver_once()
        click.echo(f"webhooks: {hooks.sent} sent, {hooks.failed} failed; e-mails: {mails.sent} sent, {mails.failed} failed")

    ari_group = AppGroup("ari", help="Availability, prices and restrictions pushed to channels.")
    app.cli.add_command(ari_group)

    @ari_group.command("full-sync")
    @click.option("--property", "slug", required=True, help="The property's slug.")
    @click.option("--channel", type=click.Choice(sorted(CHANNELS)), help="Only this connection (default: every one with a webhook address).")
    @click.option("--days", default=ari.FULL_SYNC_DAYS, show_default=True, type=int, help="Nights from today.")
    def ari_full_sync(slug, channel, days):
        """Queue every night's availability, price and restrictions for the channels (sent by the worker)."""
        prop = registry.property_by_slug(db.session, slug)
        if prop is None:
            raise click.ClickException(f"No property with slug {slug!r}.")
        try:
            conns = ari.full_sync(db.session, None, prop, channel, days)
        except Invalid as e:
            raise click.ClickException("; ".join(f"{k}: {v}" for k, v in e.errors.items()))
        except (Conflict, NotFound) as e:
            raise click.ClickException(str(e))
        names = ", ".join(next(n for n, s in CHANNELS.items() if s == c.channel) for c in conns)
        click.echo(f"{prop.slug}: {days} nights queued for {names}")

    holds = AppGroup("holds", help="Temporary holds (R36).")
    app.cli.add_command(holds)

    @holds.command("sweep")
    def sweep():
        """Mark holds past their time as expired (availability never depends on this)."""
        click.echo(f"{reservations.sweep(db.session)} expired holds marked")

    ical = AppGroup("ical", help="External calendars.")
    app.cli.add_command(ical)

    @ical.command("sync")
    @click.option("--all", "everything", is_flag=True, help="Every feed, not only those due.")
    def ical_sync(everything):
        """Fetch external .ics calendars and bring their blocks up to date."""
        for line in _sync_feeds(everything):
            click.echo(line)

    conflicts_group = AppGroup("conflicts", help="Double bookings (R10-R14).")
    app.cli.add_command(conflicts_group)

    @conflicts_group.command("check")
    @click.option("--property", "slug", help="Only this property (default: every one).")
    @click.option("--days", default=conflicts.CHECK_DAYS, show_default=True, type=click.IntRange(1, 3660),
                  help="Nights from today.")
    def conflicts_check(slug, days):
        """Find nights whose bookings exceed the units or the quota (data brought in from elsewhere)
        and open a double booking for each run of them not open yet; one line per double booking."""
        if slug:
            prop = registry.property_by_slug(db.session, slug)
            if prop is None:
                raise click.ClickException(f"No property with slug {slug!r}.")
            ids = [prop.id]
        else:
            ids = list(db.session.scalars(sa.select(Property.id).order_by(Property.id)))
        total = opened = 0
        for prop_id in ids:
            with use_case(db.session):  # one transaction per property
                prop = db.session.get(Property, prop_id)
                found = conflicts.check(db.session, prop, days)
                lines = [f"{prop.slug}: double booking #{d.id} {d.category.name} {d.first_night.isoformat()}"
                         f"..{d.last_night.isoformat()} ({how})" for d, how in found]
            for line in lines:
                click.echo(line)
            total += len(found)
            opened += sum(1 for _d, how in found if how == "opened")
        click.echo(f"{total} double bookings found, {opened} opened")

    @app.cli.command("worker")
    @click.option("--interval", default=15, show_default=True, help="Seconds between rounds.")
    @click.option("--once", is_flag=True)
    @click.option("--analyze-hours", default=analyze.EVERY.total_seconds() / 3600, show_default=True, type=float,
                  help="PostgreSQL: ANALYZE every table this often (0: only the much changed ones).")
    def worker(interval, once, analyze_hours):
        """Deliver the outbox, sweep holds, sync due calendars and settle risk-free room-nights due, round after round.

        On PostgreSQL it also keeps the planner's statistics (this machine kind runs no
        autovacuum): after each round it ANALYZEs the tables changed by more than 50 rows + 10 %
        since their last ANALYZE (bulk loads: iCal imports, data brought in, a restore), and every
        table every --analyze-hours."""
        every = analyze_hours * 3600
        last_full = time.monotonic()
        while True:
            # Holds first: the availability a hold gave back goes out with this round's webhooks.
            expired = reservations.sweep(db.session)
            hooks, mails = _deliver_once()
            users.forget_old_failures(db.session)
            synced = _sync_feeds(False)
            settled = _settle(None)
            for line in settled:
                click.echo(line)
            if hooks.sent or hooks.failed or mails.sent or expired or synced:
                click.echo(f"webhooks {hooks.sent}/{hooks.failed}, e-mails {mails.sent}/{mails.failed}, "
                           f"expired holds {expired}, calendars {len(synced)}")
            db.session.remove()
            if every > 0 and time.monotonic() - last_full >= every:
                last_full = time.monotonic()
                analyze.analyze(db.engine)
            else:
                analyze.analyze_changed(db.engine)
            if once:
                return
            time.sleep(interval)


def _db_group() -> click.Group:
    """Flask-Migrate's `db` commands, for this app only (its group is shared by every app of the
    process), where `upgrade` then ANALYZEs every table on PostgreSQL: a database freshly
    migrated or restored has no statistics, and this machine kind runs no autovacuum."""
    from flask_migrate.cli import db as migrate_db

    original = migrate_db.commands["upgrade"]

    @click.pass_context
    def upgrade(ctx, **kwargs):
        ctx.invoke(original, **kwargs)
        if not kwargs.get("sql"):
            names = analyze.analyze(db.engine)
            if names:
                click.echo(f"ANALYZE: {len(names)} tables")

    group = click.Group(migrate_db.name, commands=dict(migrate_db.commands), params=migrate_db.params,
                        callback=migrate_db.callback, help=migrate_db.help)
    group.add_command(click.Command(
        "upgrade", params=original.params, callback=upgrade,
        help=f"{original.help}, then ANALYZE every table (PostgreSQL) so the planner has statistics."))
    return group


def _review_connection(slug: str | None, channel: str):
    """The review partner's connection of the property named (or of the only one it is on for)."""
    from services.models import ChannelConnection

    q = sa.select(ChannelConnection).join(Property).where(ChannelConnection.channel == channel)
    if slug:
        prop = registry.property_by_slug(db.session, slug)
        if prop is None:
            raise click.ClickException(f"No property with slug {slug!r}.")
        conn = db.session.scalar(q.where(ChannelConnection.property_id == prop.id))
        if conn is None:
            raise click.ClickException(f"{channel} is not switched on for {slug}: "
                                       f"flask --app portal api-key create --property {slug} --channel {channel}")
        return conn
    conns = list(db.session.scalars(q.where(ChannelConnection.active.is_(True)).limit(2)))
    if len(conns) != 1:
        raise click.ClickException(f"{channel} is switched on for {'no' if not conns else 'more than one'} property: "
                                   "name it with --property.")
    return conns[0]


def _echo_logins(logins) -> None:
    if logins:
        click.echo(f"Logins (password for all: {demo.PASSWORD}):")
        for email, role, what in logins:
            click.echo(f"  {role:<6} {email:<34} {what}")


def _deliver_once():
    cfg = current_app.config
    smtp = outbox.SMTPSettings(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"],
                               cfg["MAIL_USE_TLS"], cfg["MAIL_SENDER"]) if cfg.get("MAIL_SERVER") else None
    return outbox.deliver_webhooks(db.session), outbox.deliver_mail(db.session, smtp, folder=cfg.get("MAIL_FOLDER"),
                                                                    sender=cfg["MAIL_SENDER"])


def _sync_feeds(everything: bool) -> list[str]:
    ids = ical.all_feeds(db.session) if everything else ical.due_feeds(db.session)
    return [f"feed {i}: {ical.sync_feed(db.session, i)}" for i in ids]


def _settle(on, always: bool = False) -> list[str]:
    """The risk-free settlement (R55): one line per booking paid and a total line (per currency);
    nothing at all when nothing was due, unless `always` (the command says so)."""
    paid = replacement.settle(db.session, on)
    lines = [f"#{p.booking_id} {p.guest_name}: {p.room_nights} room-nights, {p.amount} {p.currency}" for p in paid]
    totals: dict[str, list] = {}
    for p in paid:
        t = totals.setdefault(p.currency, [0, 0])
        t[0] += p.room_nights
        t[1] += p.amount
    if totals:
        lines.append("total: " + "; ".join(f"{n} room-nights, {amount} {currency}"
                                            for currency, (n, amount) in sorted(totals.items())))
    elif always:
        lines.append("total: 0 room-nights paid by the platform")
    return lines
