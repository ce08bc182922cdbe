"""Flask extensions, created unbound and initialised in create_app."""
from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from services.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
babel = Babel()


def _rate_key() -> str:
    """API calls are limited per key (its public prefix), everything else per client address."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer " and auth.count("_") >= 2:
        return "key:" + auth[7:].split("_")[1][:12]
    return "ip:" + get_remote_address()


limiter = Limiter(key_func=_rate_key, default_limits=[])
