# Set-up and entry points. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# runtime packages (make demo, report) and, for tests and lint, the development ones on top
STAMP := $(VENV)/.installed-requirements
DEV_STAMP := $(VENV)/.installed-dev-requirements
CORES ?= 2
# the run whose report `make report` builds (run_name; the default configuration's is demo)
RUN ?= demo

.PHONY: demo test lint bench clean report

$(STAMP): envs/requirements.txt pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r envs/requirements.txt
	# the library, editable, for development (forge-score command, imports in tests and benchmarks);
	# the workflow itself finds scripts/ without it (workflow/rules/common.smk)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable .
	touch $(STAMP)

# rebuilt after the runtime stamp, so a change of either requirements file reinstalls both
$(DEV_STAMP): $(STAMP) envs/requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r envs/requirements.txt -r envs/requirements-dev.txt
	touch $(DEV_STAMP)

demo: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

# after `make demo`: the Snakemake HTML report (self-contained zip and a single HTML page);
# another run's: `.venv/bin/snakemake --configfile <its config> --report results/<run>/report.html`
report: $(STAMP)
	$(BIN)/snakemake --report results/$(RUN)/report.zip
	$(BIN)/snakemake --report results/$(RUN)/report.html

test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q --durations=15 -n 2 --dist loadgroup tests

lint: $(DEV_STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/Snakefile workflow/rules

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_solver.py

clean:
	rm -rf results resources logs benchmarks/runs .snakemake
