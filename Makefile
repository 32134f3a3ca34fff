# Set-up and the two jobs of the README. `make main` and `make test` each install first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A local folder of wheels (this machine kind keeps the CPU torch wheel there); pip's config names it.
FIND_LINKS ?= $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null)
UV_FLAGS := --python $(BIN)/python --override requirements/overrides.txt --compile-bytecode \
            $(if $(FIND_LINKS),--find-links $(FIND_LINKS))
export PYTHONWARNINGS := ignore::UserWarning:torchvision.io.image
export OMP_NUM_THREADS ?= 2

.PHONY: install main test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv

install: $(BIN)/python
	$(BIN)/python -m uv pip install $(UV_FLAGS) -e ".[test,bench]"

main: install
	$(BIN)/python scripts/main_job.py

test: install
	$(BIN)/python -m pytest -n 2 tests

bench: install
	$(BIN)/python benchmarks/decoder_speed.py

clean:
	rm -rf $(VENV) output
