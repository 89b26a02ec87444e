# CX Scorecard. Two commands on a fresh machine: `make publish`, then `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?=
DATA   ?=
DEMO   := data/demo
SITE   ?=
PERIOD ?=
RESTATE ?=
REASON ?=
RENDERER ?=
PORT   ?= 8000
BENCH_INTERACTIONS ?= 10000000
BENCH_SIZE ?=
BENCH_SCALE ?=

# the configuration: CONFIG= when given, else DATA/scorecard.yml when present, else the built-in
# defaults; with neither DATA nor CONFIG, the demo (data/demo, with its own scorecard.yml)
DATA_ARGS = $(if $(CONFIG),--config "$(CONFIG)") $(if $(DATA),--data "$(DATA)",$(if $(CONFIG),,--data $(DEMO)))
NEED_DEMO = $(if $(DATA)$(CONFIG),,$(DEMO)/scorecard.yml)
PUBLISH_ARGS = $(DATA_ARGS) $(if $(SITE),--site "$(SITE)") \
	$(if $(PERIOD),--period $(PERIOD)) $(if $(RESTATE),--restate $(RESTATE) --reason "$(REASON)") \
	$(if $(RENDERER),--renderer $(RENDERER))

.PHONY: setup upgrade publish check demo init lint test serve bench clean

setup: $(VENV)/.installed

# constraints.txt pins every package to the versions the tests last passed with (make upgrade)
$(VENV)/.installed: pyproject.toml constraints.txt
	@echo "setting up $(VENV) (Python packages) and the system tools chart export and tests need"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@if command -v chromium >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null; \
	else \
		echo "Please install Chromium (static chart images, browser tests) and poppler-utils:"; \
		echo "  sudo apt-get install chromium poppler-utils"; exit 1; \
	fi
	@touch $@

# the demo data and its configuration (data/demo/scorecard.yml)
$(DEMO)/scorecard.yml: | setup
	$(BIN)/scorecard demo --out $(DEMO)

demo: $(DEMO)/scorecard.yml

publish: setup $(NEED_DEMO)
	$(BIN)/scorecard publish $(PUBLISH_ARGS)

# make check DATA=folder: load and validate, say what a publish would do, publish nothing
check: setup $(NEED_DEMO)
	$(BIN)/scorecard check $(DATA_ARGS) $(if $(SITE),--site "$(SITE)")

# make init DATA=folder: look at a folder of exports and write a starter DATA/scorecard.yml
init: setup
	@test -n "$(DATA)" || { echo "usage: make init DATA=path/to/exports"; exit 2; }
	$(BIN)/scorecard init "$(DATA)"

# make lint: the linter, the formatter's check and the type checker (settings in pyproject.toml)
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q tests notebooks --nbval-lax -p no:cacheprovider

# make upgrade: the newest versions pyproject.toml allows, installed into a throw-away venv and
# written to constraints.txt; then `make setup` installs them and `make test` tries them
upgrade:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/pip" install --quiet --upgrade pip; \
	"$$tmp/venv/bin/pip" install --quiet -e '.[dev]'; \
	{ sed -n '/^#/p' constraints.txt; "$$tmp/venv/bin/pip" freeze --exclude-editable; } > "$$tmp/constraints.txt"; \
	mv "$$tmp/constraints.txt" constraints.txt
	@git diff --stat -- constraints.txt 2>/dev/null || true
	@echo "constraints.txt refreshed: make setup installs it, make test tries it"

serve:
	@echo "serving $(or $(SITE),_site) on http://localhost:$(PORT)/"
	$(PYTHON) -m http.server $(PORT) --bind 127.0.0.1 --directory $(or $(SITE),_site)

# make bench: 10M interactions (or BENCH_INTERACTIONS=N); BENCH_SIZE=small: a quicker 1M run;
# BENCH_SCALE=1: the scaling table (1M, 3M, 10M, 30M interactions; 38 and 200 units)
bench: setup
	$(BIN)/python -m bench $(if $(BENCH_SCALE),--scale,$(if $(filter small,$(BENCH_SIZE)),--small,--interactions $(BENCH_INTERACTIONS)))

clean:
	rm -rf _site reports/* data/demo data/*.duckdb data/.scorecard-state tests/.cache .pytest_cache .mypy_cache .ruff_cache
	@touch reports/.gitkeep
