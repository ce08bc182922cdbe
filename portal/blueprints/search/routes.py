"""GET /search (HTML, embeddable by the office's origins) and GET /search.json."""
from portal.blueprints.search import bp  # noqa: F401
