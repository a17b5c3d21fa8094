# Two commands for a fresh machine with Python 3.11, 3.12 or 3.13: `make run` and `make test`;
# `make demo` runs everything on a simulated node. .venv takes PYTHON=/path/to/python3.X when
# given, else the newest python3.13, python3.12, python3.11 or python3 on PATH (scripts/venv.sh
# says which). `make run` and `make demo` install the runtime set (requirements.txt); `make test`
# and the lint targets add the test and lint tools (requirements-dev.txt). Both are installed
# from their locks with hashes (requirements.lock, requirements-dev.lock; `make lock` rewrites
# them after a change of the .txt files).
PYTHON ?=
export PYTHON
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# make run: daphne processes sharing PORT (scripts/web.py); empty means one per core.
WEB_PROCESSES ?=

.PHONY: run demo test install install-dev lock migrate lint format config-docs clean

install:
	@scripts/venv.sh $(VENV) requirements.lock

install-dev:
	@scripts/venv.sh $(VENV) requirements-dev.lock

# Resolve the .txt files into the locks: every package pinned with its hashes, for Python 3.11+
# on every platform; the dev lock keeps the runtime lock's versions.
lock: install-dev
	$(VENV)/bin/uv pip compile requirements.txt --generate-hashes --universal \
	  --python-version 3.11 -q -o requirements.lock
	$(VENV)/bin/uv pip compile requirements-dev.txt --constraint requirements.lock \
	  --generate-hashes --universal --python-version 3.11 -q -o requirements-dev.lock

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py ensure_admin
	HOST=$(HOST) PORT=$(PORT) WEB_PROCESSES=$(WEB_PROCESSES) scripts/run.sh

demo: install
	$(PY) -m simulators.demo --host $(HOST) --port $(PORT)

test: install-dev
	scripts/test.sh

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The README's configuration table and .env.example, from the declaration in oracle/config.py.
config-docs: install
	$(PY) scripts/config_docs.py

clean:
	rm -rf $(VENV) $(VENV)-3.* .coverage htmlcov build *.egg-info
