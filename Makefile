# graphkit's single entry point. `make demo` runs the main job, `make test` the test suite,
# `make lab` opens JupyterLab on notebooks/, `make docs` builds the documentation site in site/.
# Each creates/reuses the virtual environment in .venv, installs what it needs (Python packages,
# the front-end build, system packages where root) and is safe to run again.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= out/demo
STAMP  := $(VENV)/.graphkit-installed
FRONTEND_STAMP := $(VENV)/.graphkit-frontend
# `jupyter labextension` runs helper commands (jupyter-builder) that it finds on PATH.
IN_VENV := PATH="$(abspath $(VENV))/bin:$$PATH"

# Everything the front-end build reads (labextension/node_modules excluded).
FRONTEND_SOURCES := $(shell find labextension/src -type f 2>/dev/null) \
	$(addprefix labextension/,package.json package-lock.json tsconfig.json build.mjs)
NODE_MODULES := labextension/node_modules/.package-lock.json

.PHONY: demo test lab docs bench system-deps frontend clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Python packages. graphkit is installed editable; its build hook (hatch-jupyter-builder) is
# skipped here because the front end is built by the rules below, only when its sources change.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	SKIP_JUPYTER_BUILDER=1 $(PY) -m pip install --quiet -e ".[test,bench,docs]"
	touch $@

$(NODE_MODULES): labextension/package.json labextension/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "error: the front end needs Node.js >= 20 with npm (apt-get install nodejs npm on Debian 13; NodeSource or nvm on Debian 12, whose nodejs is 18)"; exit 1; }
	cd labextension && npm ci --no-audit --no-fund
	touch $@

# The widget bundles (graphkit/static/) and the JupyterLab extension (graphkit/labextension/),
# linked into the venv's share/jupyter/labextensions/ so that JupyterLab loads the live build.
$(FRONTEND_STAMP): $(FRONTEND_SOURCES) $(NODE_MODULES) $(STAMP)
	cd labextension && $(IN_VENV) npm run build
	$(IN_VENV) jupyter labextension develop --overwrite . >/dev/null
	touch $@

frontend: $(FRONTEND_STAMP)

# System packages: graphviz's `dot` (pictures) and chromium (browser tests); apt where root.
system-deps:
	@missing=""; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing system packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "note: missing system packages:$$missing (not root or no apt-get; install them to get system-rendered pictures and the browser tests)"; fi

demo: $(FRONTEND_STAMP) system-deps
	$(PY) -m graphkit.demo --out $(OUT)

test: $(FRONTEND_STAMP) system-deps
	$(PY) -m pytest -q

# The documentation site in site/: the comparison page's screenshots first (docs/images/, taken in
# Chromium by the tests), then mkdocs with warnings as errors (it executes the notebooks).
docs: $(FRONTEND_STAMP) system-deps
	$(PY) -m pytest -q tests/test_docs_screenshots.py
	$(IN_VENV) mkdocs build --strict --site-dir site

lab: $(FRONTEND_STAMP)
	$(IN_VENV) jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(PY) bench/overhead.py
	$(PY) bench/forward.py
	$(PY) bench/train_step.py
	$(PY) bench/train_step_models.py
	$(PY) bench/live_view.py

clean:
	rm -rf $(VENV) out site docs/images .pytest_cache labextension/node_modules labextension/lib graphkit/static graphkit/labextension
