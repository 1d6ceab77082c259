# Every target bootstraps its own virtualenv (.venv) from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8080

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = 20
export CDK_DISABLE_CLI_TELEMETRY = true

.PHONY: lock lockcheck screenshots dev demo test lint typecheck unit integration e2e infra-test bundle-test synth bench clean redis system-deps

UV_VERSION := 0.9.30
LOCK := requirements.lock
LOCK_ARGS := --extra dev --extra cdk --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28

# Installs exactly the versions pinned in requirements.lock (with hashes), then the project itself.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile --no-deps --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-compile --no-deps -e .
	touch $(STAMP)

## Re-pin every dependency after a change to pyproject.toml (make test fails while the lock and
## pyproject.toml disagree).
lock: $(STAMP)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile --quiet pyproject.toml $(LOCK_ARGS) -o $(LOCK)

## The lock pins what pyproject.toml pins, and the installed set is consistent.
lockcheck: $(STAMP)
	$(BIN)/pip check
	$(BIN)/python -c "import re,tomllib; p=tomllib.load(open('pyproject.toml','rb'))['project']; reqs=p['dependencies']+[r for v in p['optional-dependencies'].values() for r in v]; pins={m[1].lower().replace('_','-'):m[2] for r in reqs if (m:=re.match(r'([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==([^ ;]+)',r))}; lock=dict(re.findall(r'^([a-z0-9_.-]+)==([^ ]+)',open('$(LOCK)').read(),re.M)); bad={k:(v,lock.get(k)) for k,v in pins.items() if lock.get(k)!=v}; assert not bad, f'requirements.lock is stale (make lock): {bad}'"

## Run MemOS locally (embedded PostgreSQL + pgvector, Redis, moto) and show the demo.
dev: $(STAMP)
	$(BIN)/memos dev --demo --port $(PORT)

demo: $(STAMP)
	$(BIN)/memos demo

## Integration and e2e tests need redis-server, the console tests Debian's Chromium: installed
## here when missing and we are root (else the tests fail and say what to install).
redis:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || [ -n "$$MEMOS_TEST_REDIS_URL" ] || missing="$$missing redis-server"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else echo "please install:$$missing (apt-get install$$missing)"; exit 1; fi; \
	fi

lint: $(STAMP) lockcheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## The whole suite: lint, types, unit, integration (real PostgreSQL/Redis/moto), infra (CDK), e2e.
test: $(STAMP) redis lint typecheck
	$(BIN)/pytest -q tests

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP) redis
	$(BIN)/pytest -q tests/integration

e2e: $(STAMP) redis
	$(BIN)/pytest -q tests/e2e

## Re-take the console screenshots in docs/screenshots (the test run itself writes to a temp dir).
screenshots: $(STAMP) redis
	MEMOS_SCREENSHOT_DIR=docs/screenshots $(BIN)/pytest -q tests/e2e/test_console.py

infra-test: $(STAMP)
	$(BIN)/pytest -q tests/infra

## The synthesized assets, imported and invoked from their own layout (real PostgreSQL/Redis).
bundle-test: $(STAMP) redis
	$(BIN)/pytest -q tests/bundle

## cdk synth of dev, staging and prod with the pinned CDK CLI (no Docker, no AWS account).
synth: $(STAMP)
	. $(BIN)/activate && bash infra/ci_synth.sh

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache
