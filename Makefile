# perfcampaign — the two entry points a fresh machine needs:
#   make demo   set everything up, then run the demo campaign against the bundled service
#   make test   set everything up, then run the whole test suite
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup system-deps mock-tools importer-corpus bench clean lock

demo: setup
	$(BIN)/perfcampaign run campaigns/demo.yaml

# two workers, a test file each (module fixtures stay in one process); PYTEST_WORKERS=0 runs serially.
# Tests marked serial (nights of latency compared with each other) run alone afterwards: a neighbour
# test starting mid-series is a change in the machine, not noise. Exit 5 = nothing selected.
PYTEST_WORKERS ?= 2
test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile -m "not serial" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/python -m pytest -q -p no:cacheprovider -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]

setup: system-deps $(STAMP) mock-tools importer-corpus

system-deps:
	@bash scripts/system-deps.sh

# the readiness test bed's real mock tools (npm, pinned; quick when present)
mock-tools: system-deps
	@bash scripts/mock-tools.sh

# the importers' corpus of real public OpenAPI/Swagger documents (npm, pinned; quick when present)
importer-corpus: system-deps
	@bash scripts/importer-corpus.sh

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	@$(BIN)/uv pip install -q --python $(BIN)/python --compile-bytecode --require-hashes -r requirements.lock
	@$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 --no-header -o requirements.lock

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .perfcampaign
