# Two commands on a fresh machine with python3 and make: `make run`, `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app portal
HOST ?= 127.0.0.1
PORT ?= 5000
CATALOGS := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)

.PHONY: run test test-fast install translations extract-messages bench clean

# `make run` needs the runtime dependencies only; the test tools come with `make test`.
# pip's chatter goes to a log, shown only when the installation fails.
$(VENV)/.runtime: pyproject.toml
	@echo "Installing the runtime dependencies into $(VENV) (a minute the first time)..."
	@python3 -m venv $(VENV)
	@$(VENV)/bin/pip install --disable-pip-version-check --upgrade pip -e . > $(VENV)/pip.log 2>&1 \
	  || { cat $(VENV)/pip.log; exit 1; }
	@touch $@

$(VENV)/.installed: $(VENV)/.runtime
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(VENV)/.installed translations

# Compiled catalogs (.mo) are build output, not committed.
translations: $(VENV)/.runtime $(CATALOGS:.po=.mo)

%.mo: %.po
	@$(VENV)/bin/pybabel -q compile --use-fuzzy -f -i $< -o $@

extract-messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o portal/translations/messages.pot --no-location --sort-output .
	$(VENV)/bin/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching --ignore-obsolete

# The worker (webhooks, e-mails, hold sweep, iCal sync) runs beside the server and stops with it.
# A signing key for local use, made once (production sets SECRET_KEY; the app refuses to start without one).
instance/secret_key:
	@mkdir -p instance
	@umask 077; python3 -c 'import secrets; print(secrets.token_hex(32))' > $@

run: $(VENV)/.runtime translations instance/secret_key
	@$(FLASK) db upgrade
	@$(FLASK) demo --if-empty --quiet
	@$(FLASK) worker & trap 'kill $$! 2>/dev/null' EXIT INT TERM; $(FLASK) serve --host $(HOST) --port $(PORT)

# The whole suite; `make test-fast` leaves out the browser (Chromium) and PostgreSQL-only tests.
test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-fast: install
	$(VENV)/bin/pytest -m "not browser and not postgres_only" $(PYTEST_ARGS)

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) instance *.egg-info
