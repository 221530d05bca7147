# The two commands of the course: `make lab` (open the course) and `make test` (check all of it).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SETTINGS := $(VENV)/share/jupyter/lab/settings
# Jupyter refuses to start as root unless told; many containers and course VMs run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test install labs translations site benchmark doctor clean

$(STAMP): pyproject.toml src/asgilab/jupyter-settings/overrides.json
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: '$(PYTHON)' was not found. Install Python 3.11 or newer, then run make again (or PYTHON=/path/to/python3.11 make ...)."; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make: the course needs Python 3.11 or newer, and '$(PYTHON)' is $$($(PYTHON) --version 2>&1). Install a newer Python (python.org, Homebrew, or your package manager), then run make again with PYTHON=/path/to/python3.11 if it is not the default."; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "make: '$(PYTHON)' cannot create a virtual environment: install its venv module (Debian/Ubuntu: sudo apt-get install python3-venv), then run make again."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# An editable install skips the package's data files: put the course's JupyterLab settings in place.
	mkdir -p $(SETTINGS) && cp src/asgilab/jupyter-settings/overrides.json $(SETTINGS)/overrides.json
	touch $(STAMP)

install: $(STAMP)

# Learners work on their own copies in $(WORK)/ (git-ignored), so `git pull` never meets their edits:
# copy what is missing (never overwriting), say which notebooks have a newer version, open lesson 00's copy.
# `make lab EDITION=zh-TW`: the Traditional Chinese edition (zh-TW/), copied into my-work/zh-TW/.
EDITION ?=
WORK ?= my-work$(if $(EDITION),/$(EDITION))
lab: $(STAMP)
	@test -z "$(EDITION)" || test -f "$(EDITION)/notebooks/00_start_here.ipynb" || { echo "make: there is no edition '$(EDITION)' (the editions: zh-TW)."; exit 2; }
	$(BIN)/python -m asgilab.workspace --course $(if $(EDITION),$(EDITION),.) --into $(WORK)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(WORK) $(ALLOW_ROOT) $(WORK)/notebooks/00_start_here.ipynb

test: $(STAMP)
	ASGILAB_STRICT=1 $(BIN)/python -m pytest

# A static HTML book of the course in build/site/ (Sphinx: a sidebar, search, offline), from the notebooks
# `make test` executed. Its packages (the `site` extra) are installed the first time.
site: $(STAMP)
	@$(BIN)/python -c 'import sphinx, myst_nb, sphinx_book_theme' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[site]'
	$(BIN)/python scripts/build_site.py

labs: $(STAMP)
	$(BIN)/python scripts/make_labs.py

# The zh-TW edition (zh-TW/) from the English and the catalogs in i18n/: update the catalogs (changed
# English turns fuzzy), write the edition and the kit's compiled catalog, then say what is not yet done.
translations: $(STAMP)
	$(BIN)/python scripts/translate.py extract
	$(BIN)/python scripts/translate.py build
	$(BIN)/python scripts/translate.py check

benchmark: $(STAMP)
	$(BIN)/python benchmarks/accuracy.py
	$(BIN)/python benchmarks/streams.py

doctor: $(STAMP)
	$(BIN)/python -m asgilab doctor

clean:
	rm -rf $(VENV) build .pytest_cache notebooks/apps/*.py labs/*_app.py solutions/*_app.py zh-TW/notebooks/apps/*.py zh-TW/labs/*_app.py zh-TW/solutions/*_app.py
