"""One package per area; each defines `bp`."""


def register_all(app) -> None:
    from portal.blueprints.auth import bp as auth
    from portal.blueprints.bookings import bp as bookings
    from portal.blueprints.calendar import bp as calendar
    from portal.blueprints.main import bp as main
    from portal.blueprints.office import bp as office
    from portal.blueprints.properties import bp as properties

    for bp in (auth, main, calendar, bookings, properties, office):
        app.register_blueprint(bp)
