"""The printable maintenance guide for hosts (Pflegeanleitung, R5), in German, English and Czech."""
from portal.blueprints.main import bp  # noqa: F401
