# CX Scorecard. Two commands on a fresh machine: `make publish`, then `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= scorecard.yml
DATA   ?=
SITE   ?=
PERIOD ?=
RESTATE ?=
REASON ?=
RENDERER ?=
PORT   ?= 8000
BENCH_INTERACTIONS ?= 10000000
BENCH_SIZE ?=
BENCH_SCALE ?=

PUBLISH_ARGS = --config $(CONFIG) $(if $(DATA),--data "$(DATA)") $(if $(SITE),--site "$(SITE)") \
	$(if $(PERIOD),--period $(PERIOD)) $(if $(RESTATE),--restate $(RESTATE) --reason "$(REASON)") \
	$(if $(RENDERER),--renderer $(RENDERER))

.PHONY: setup publish demo test serve bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "setting up $(VENV) (Python packages) and the system tools chart export and tests need"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@if command -v chromium >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null; \
	else \
		echo "Please install Chromium (static chart images, browser tests) and poppler-utils:"; \
		echo "  sudo apt-get install chromium poppler-utils"; exit 1; \
	fi
	@touch $@

data/demo/interactions.csv: | setup
	$(BIN)/scorecard demo --out data/demo

demo: data/demo/interactions.csv

publish: setup $(if $(DATA),,data/demo/interactions.csv)
	$(BIN)/scorecard publish $(PUBLISH_ARGS)

test: setup
	$(BIN)/python -m pytest -q tests notebooks --nbval-lax -p no:cacheprovider

serve:
	@echo "serving $(or $(SITE),_site) on http://localhost:$(PORT)/"
	$(PYTHON) -m http.server $(PORT) --bind 127.0.0.1 --directory $(or $(SITE),_site)

# make bench: 10M interactions (or BENCH_INTERACTIONS=N); BENCH_SIZE=small: a quicker 1M run;
# BENCH_SCALE=1: the scaling table (1M, 3M, 10M, 30M interactions; 38 and 200 units)
bench: setup
	$(BIN)/python -m bench $(if $(BENCH_SCALE),--scale,$(if $(filter small,$(BENCH_SIZE)),--small,--interactions $(BENCH_INTERACTIONS)))

clean:
	rm -rf _site reports/* data/demo data/*.duckdb tests/.cache .pytest_cache
	@touch reports/.gitkeep
