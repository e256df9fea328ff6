# Parley: `make run` serves the demo, `make test` runs the whole suite. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: venv lock run test test-in-process test-embedded test-units test-served test-production lint format migrate demo clean bench chaos messages

# CI (CI=true) installs exactly the locked versions, hashes checked; anywhere else pip resolves
# pyproject.toml, so `make run` works on a fresh machine of any platform. `make lock` rewrites
# the locks after a change to pyproject.toml (the image installs requirements.lock).
$(VENV)/.installed: pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
ifdef CI
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements-dev.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
else
	$(VENV)/bin/pip install --quiet -e '.[dev]'
endif
	touch $@

LOCK_OPTIONS := --universal --python-version 3.11 --generate-hashes --quiet

lock: venv
	$(VENV)/bin/uv pip compile pyproject.toml $(LOCK_OPTIONS) -o requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev $(LOCK_OPTIONS) -o requirements-dev.lock

venv: $(VENV)/.installed

migrate: venv
	$(PY) manage.py migrate --noinput

# Sixty days of made-up history (written once) give every report something to show.
HISTORY_DAYS ?= 60

demo: migrate
	$(PY) manage.py seed_demo --history-days $(HISTORY_DAYS)

run: demo
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

# Translations (docs/i18n.md): refresh locale/fr/LC_MESSAGES/*.po from the marked strings of
# the code, templates and static/js, then compile the .mo files. The .mo files are committed,
# so `make run` and the image need no gettext tools; tests/parley/test_translations.py fails
# when a marked string has no French translation or a .mo is older than its .po.
MESSAGES_IGNORE := --ignore=.venv --ignore=tests --ignore=bench --ignore=chaos --ignore=scripts \
	--ignore=staticfiles --ignore=node_modules --ignore=static/vendor
messages: venv
	$(PY) manage.py makemessages --locale fr --no-obsolete $(MESSAGES_IGNORE)
	$(PY) manage.py makemessages --domain djangojs --locale fr --no-obsolete $(MESSAGES_IGNORE)
	$(PY) manage.py compilemessages --locale fr $(MESSAGES_IGNORE)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The embedded defaults (SQLite, in-memory channel layer, eager tasks) always run; the
# production shape (Postgres, Redis, a real Celery worker) runs too when its servers answer.
# The served tests (browser, fuzz) spend most of their time waiting on a live Parley while the
# in-process ones keep a core busy, so the two run side by side; each one's output is printed
# whole when it ends.
test: lint
	@$(MAKE) --no-print-directory -j2 --keep-going --output-sync=target test-served test-in-process

test-in-process: test-units test-production

test-embedded: test-units test-served

test-units: venv
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -m "not browser and not fuzz"

test-served: venv
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -p no:cacheprovider -m "browser or fuzz"

# Browser and fuzz tests serve their own embedded Parley (as `make run` does), so they would
# only repeat themselves here.
test-production: venv
	@urls="$$($(PY) tests/production_env.py)"; \
	if [ -z "$$urls" ]; then \
		echo "Production-shape tests skipped: no PostgreSQL on 127.0.0.1:5432 or Redis on 127.0.0.1:6379 (set DATABASE_URL and REDIS_URL)."; \
	else \
		echo "Production shape: $$urls"; \
		env $$urls CELERY_TASK_ALWAYS_EAGER=true $(PY) -m pytest -m "not browser and not fuzz"; \
	fi

# Benchmarks on the local PostgreSQL and Redis (a private `bench` database, Redis db 11):
# one JSON object per benchmark, a summary table, bench/results.json. `make bench QUICK=1`
# runs tiny sizes to check the harness; `make bench SCALE=10m` adds a 10 M-post history (long).
# See docs/performance.md.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/11

bench: venv
	env DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) \
		$(PY) -m bench $(if $(QUICK),--quick --results bench/results-quick.json) \
		$(if $(SCALE),--scale $(SCALE) --results bench/results-$(SCALE).json)

# Fault injection (docs/reliability.md): a real worker on a private Redis (port 6390) and a
# private database on the PostgreSQL of DATABASE_URL, killed and restarted while posts and
# replies stream through. The last line is one JSON object; the exit status says if it held.
chaos: venv
	env DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(PY) -m chaos.harness

clean:
	rm -rf $(VENV) parley.sqlite3* staticfiles .pytest_cache .ruff_cache
