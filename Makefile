# The two commands of the course: `make lab` (open the course) and `make test` (check all of it).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test install labs benchmark doctor clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 notebooks/00_start_here.ipynb

test: $(STAMP)
	ASGILAB_STRICT=1 $(BIN)/python -m pytest

labs: $(STAMP)
	$(BIN)/python scripts/make_labs.py

benchmark: $(STAMP)
	$(BIN)/python benchmarks/accuracy.py

doctor: $(STAMP)
	$(BIN)/python -m asgilab doctor

clean:
	rm -rf $(VENV) .pytest_cache notebooks/*_app.py labs/*_app.py solutions/*_app.py
