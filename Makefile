# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lock db seed postgres redis chromium messages openapi examples docs lint bench clean

# The exact versions tested, with their hashes (`make lock` refreshes them from pyproject.toml's ranges):
# requirements.lock for the image, requirements-test.lock (the same and the test tools) for make run/test.
LOCK := requirements-test.lock

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-header \
		-o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-header --extra test \
		-o requirements-test.lock pyproject.toml

install: $(STAMP)

db: install
	$(BIN)/registry db upgrade

seed: db
	$(BIN)/registry seed

# `make run SEED=no` serves without loading the demonstration directory (a second node, see README).
SEED ?= yes

run: db
ifeq ($(SEED),yes)
	$(BIN)/registry seed
endif
	$(BIN)/registry serve

# The test suite needs the local PostgreSQL server; start it when it is down.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
		echo "PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1

# Rate limits shared between processes and hosts are tested on the local Redis; start it when it is down.
redis:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 \
		--save "" --appendonly no --dir /tmp
	@for i in 1 2 3 4 5 6 7 8 9 10; do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && exit 0; sleep 1; done; \
		echo "Redis is not answering on 127.0.0.1:6379 (apt-get install -y redis-server)" >&2; exit 1

# The browser tests drive Debian's Chromium (Playwright's own download is not used); install it when missing.
CHROMIUM := /usr/bin/chromium

chromium:
	@test -x $(CHROMIUM) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } || true
	@test -x $(CHROMIUM) || { echo "The browser tests need Chromium at $(CHROMIUM): run \
	'sudo apt-get install chromium' (Debian/Ubuntu) and try again." >&2; exit 1; }

test: install postgres redis chromium
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# After changing a page's text: extract the strings and merge them into every catalog (then translate the
# new entries; a test fails while one is missing). Catalogs compile when the registry starts.
messages: install
	$(BIN)/pybabel extract -F registry/web/babel.cfg -k _l --no-location --no-wrap -o registry/web/translations/messages.pot registry/web
	$(BIN)/pybabel update -i registry/web/translations/messages.pot -d registry/web/translations --no-wrap \
		--ignore-obsolete
	rm registry/web/translations/messages.pot

openapi: install
	$(BIN)/registry openapi write openapi.yaml

# After adding or changing a route: capture an example of every operation from a fresh seeded node
# (registry/api/examples.json), then regenerate openapi.yaml with them.
examples: install
	REGISTRY_INSTANCE_PATH=$$(mktemp -d) $(BIN)/registry openapi examples
	$(MAKE) openapi

# The settings and commands tables of the documentation, generated from the code.
docs: install
	$(BIN)/cog -r README.md $(wildcard docs/*.md)

lint: install
	$(BIN)/ruff check registry tests bench

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache
