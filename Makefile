# Parley: `make run` serves the demo, `make test` runs the whole suite. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: venv run test test-embedded test-production lint format migrate demo clean bench chaos

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

run: demo
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The embedded defaults (SQLite, in-memory channel layer, eager tasks) always run; the
# production shape (Postgres, Redis, a real Celery worker) runs too when its servers answer.
test: lint test-embedded test-production

test-embedded: venv
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest

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
