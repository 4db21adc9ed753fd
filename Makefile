# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/dev.txt
UV_VERSION := 0.13.9
DECODER := static/vendor/jsQR.js
# Translations (issue 18): the .po files are in git, their compiled .mo files are made here.
LOCALE := gathering/locale
CATALOGUES := $(wildcard $(LOCALE)/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

.PHONY: run test lint fmt setup clean browser

run: $(STAMP) $(DECODER) $(COMPILED)
	$(BIN)/gathering migrate
	$(BIN)/gathering demo
	$(BIN)/gathering serve

# The suite on every core (pytest-xdist; at most four workers, each with its own databases).
# The package is compiled to bytecode first: the suite starts the service and its CLI in about
# a hundred processes, and where PYTHONDONTWRITEBYTECODE is set each of them compiled every
# module again (a quarter of a second each; only files changed since are compiled here).
test: $(STAMP) lint browser node_modules/.installed $(DECODER) $(COMPILED)
	$(BIN)/python -m compileall -q gathering
	$(BIN)/pytest --numprocesses=auto --maxprocesses=4

# Front-end packages from the npm registry, pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y npm; }
	npm ci --no-audit --no-fund
	touch $@

# The scan page's QR decoder for browsers without BarcodeDetector (iOS Safari), served by the app
# itself under the strict CSP (script-src 'self'); git-ignored, copied from the pinned package.
$(DECODER): node_modules/.installed
	mkdir -p $(dir $@)
	cp node_modules/jsqr/dist/jsQR.js $@

# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here); the
# calendar tests read every feed with libical too (Debian's libical3, through ctypes).
browser:
	@command -v chromium >/dev/null || { apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-dejavu-core; }
	@ldconfig -p | grep -q 'libical\.so\.3' || { apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y libical3; }

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

setup: $(STAMP) $(DECODER) $(COMPILED)

# One language's catalogue, compiled (fuzzy entries are left out, so they read as English).
$(LOCALE)/%/LC_MESSAGES/messages.mo: $(LOCALE)/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel compile --domain messages --input-file $< --output-file $@

# Extract every translatable string into the template and update each language's catalogue
# (--ignore-dirs ".*": Babel skips folders starting with "_" by default, and templates/_macros
# holds the forms', the error summary's and the language switch's words.)
# (then translate the new entries, `make`, and `make test`: tests/i18n checks none is missing).
.PHONY: messages
messages: $(STAMP)
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords N_ --no-wrap --sort-by-file \
		--ignore-dirs ".*" \
		--project Gathering --copyright-holder "Gathering contributors" \
		--msgid-bugs-address "" --output-file $(LOCALE)/messages.pot gathering templates
	$(BIN)/pybabel update --input-file $(LOCALE)/messages.pot --output-dir $(LOCALE) \
		--domain messages --no-wrap --ignore-obsolete --no-fuzzy-matching

# Debian ships venv without ensurepip unless python3-venv is installed.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv \
		&& $(PYTHON) -m venv $(VENV); }

# Exactly the locked versions, checked by hash (requirements/*.txt, made by `make lock`); the
# package itself on top, editable, with no dependency of its own choosing.
$(STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Pin every dependency (with hashes, for Linux, macOS and Windows on Python 3.11+) from
# pyproject.toml: main.txt for the image, dev.txt for `make run` and `make test`.
.PHONY: lock
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
		--no-header --quiet -o requirements/main.txt
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --no-header --quiet -o requirements/dev.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache static/vendor

# Benchmarks of issue 8 against a real server (see bench/RESULTS.md); a few minutes.
# GATHERING_BENCH_POSTGRES_URL=postgresql://USER@HOST:PORT/postgres runs them on PostgreSQL.
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m bench.run
