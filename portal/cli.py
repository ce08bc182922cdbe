"""Operator commands: `flask --app portal demo`, `flask --app portal user create ...`."""
import click
import sqlalchemy as sa

from portal.extensions import db
from services import demo
from services.errors import Invalid
from services.models import Office, Property, User
from services.properties import create_user, ensure_office


def register(app) -> None:
    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no property yet.")
    def demo_command(if_empty):
        """Load demo data (idempotent) and print every login."""
        if if_empty and db.session.scalar(sa.select(Property.id).limit(1)) and not db.session.scalar(
            sa.select(Property.id).where(Property.slug == "demo-guesthouse")
        ):
            click.echo("The database has data already; no demo loaded.")
            return
        created = demo.load(db.session)
        click.echo("Demo data loaded." if created else "Demo data was there already.")
        click.echo(f"Logins (password for all: {demo.PASSWORD}):")
        for email, role, what in demo.LOGINS:
            click.echo(f"  {role:<6} {email:<34} {what}")

    user = click.Group("user", help="Manage accounts.")
    app.cli.add_command(user)

    @user.command("create")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--role", type=click.Choice(["staff", "admin", "host"]), required=True)
    @click.option("--office", help="Tourist office name (staff); created if new.")
    @click.password_option()
    def create(email, name, role, office, password):
        """Create an account: staff of a tourist office, an admin, or a host."""
        off = ensure_office(db.session, office) if office else None
        try:
            u = create_user(db.session, email, name, password, role, off)
        except Invalid as e:
            raise click.ClickException("; ".join(f"{k}: {v}" for k, v in e.errors.items()))
        db.session.commit()
        click.echo(f"Created {u.role} {u.email}" + (f" of {off.name}" if off else ""))
