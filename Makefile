# Set-up and the two jobs of the README. `make main` and `make test` each install first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A local folder of wheels (this machine kind keeps the CPU torch wheel there); pip's config names it.
FIND_LINKS ?= $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null)
UV_FLAGS := --python $(BIN)/python --override requirements/overrides.txt --compile-bytecode \
            $(if $(FIND_LINKS),--find-links $(FIND_LINKS))
# torch's threads: one per core of this 2-core machine kind; requirements/allennlp_ain_env.pth
# (copied into the environment) makes idle threads sleep (OMP_WAIT_POLICY=PASSIVE).
export OMP_NUM_THREADS ?= 2
SITE_PACKAGES = $(shell $(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

.PHONY: install main test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv

install: $(BIN)/python
	$(BIN)/python -m uv pip install $(UV_FLAGS) -e ".[test,bench]"
	cp requirements/allennlp_ain_env.pth $(SITE_PACKAGES)/

main: install
	$(BIN)/python scripts/main_job.py

test: install
	$(BIN)/python -m pytest -n 2 tests

bench: install
	$(BIN)/python benchmarks/decoder_speed.py

clean:
	rm -rf $(VENV) output
