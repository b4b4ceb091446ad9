# graphkit's single entry point. `make demo` runs the main job, `make test` the test suite.
# Both create/reuse the virtual environment in .venv and install what they need.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.graphkit-installed
OUT    ?= out/demo

.PHONY: demo test bench system-deps clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,bench]"
	touch $@

# System packages the pictures need (graphviz's `dot`); installed with apt where we are root.
system-deps:
	@if command -v dot >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
	else echo "note: graphviz's 'dot' is missing and cannot be installed here (not root or no apt)"; fi

demo: $(STAMP) system-deps
	$(PY) -m graphkit.demo --out $(OUT)

test: $(STAMP) system-deps
	$(PY) -m pytest -q

bench: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(PY) bench/overhead.py
	$(PY) bench/forward.py
	$(PY) bench/train_step.py
	$(PY) bench/train_step_models.py

clean:
	rm -rf $(VENV) out .pytest_cache
