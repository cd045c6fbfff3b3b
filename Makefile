# The two commands of the README: `make demo` and `make test`. Both set up .venv first.
SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYOPENGL_PLATFORM ?= egl

.PHONY: demo test test-slurm test-ui bench bench-evaluate bench-apd setup assets clean-outputs

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh scripts/debian_packages.sh
	scripts/setup.sh
	touch $(STAMP)

## The files the pipeline reads that no package ships (face model, canonical face, sample clips)
## in assets/: linked from ../shared/data where it exists, else downloaded once (about 404 MB).
assets: $(STAMP)
	h2h assets

## Run the whole pipeline on the bundled sample (params.yaml), cached by DVC.
demo: assets
	dvc repro
	h2h summary
	h2h report
	@echo "reenactment videos: data/reenact/*/video.mp4 (and side_by_side.mp4)"

## The test suite (real ffmpeg, dlib, DVC, Snakemake and MLflow runs on short clips).
test: $(STAMP)
	CI=$${CI:-true} python -m pytest -n 2 --dist loadfile --durations=15

## The pipeline through the Snakemake SLURM profile on a throw-away local SLURM cluster
## (scripts/slurm_cluster.sh; needs root to install and run the SLURM daemons).
test-slurm: $(STAMP)
	CI=$${CI:-true} python -m pytest -m slurm tests/pipeline/test_slurm.py --durations=5

## mlflow ui in a real browser: a project that ran the sample's evaluations, served by mlflow ui,
## loaded by headless Chromium (Debian's chromium and chromium-driver are installed when missing,
## which needs root or sudo, and the ui extra); screenshots in logs/test-ui/.
test-ui: $(STAMP)
	scripts/debian_packages.sh chromium chromium-driver
	python -c "import selenium" 2>/dev/null || python -m pip install -q -e ".[test,ui]"
	CI=$${CI:-true} python -m pytest -m ui tests/ui --durations=5

## Speed figures of the stages on this machine, then the person-specific training benchmark.
bench: assets
	h2h bench
	h2h bench recovery
	h2h bench training --preset tiny
	h2h bench training --preset cpu
	h2h bench training --preset cpu --threads 1
	h2h bench reenact
	$(MAKE) bench-evaluate
	$(MAKE) bench-apd

## The evaluation's speed on the sample's generated videos (dvc repro makes them).
bench-evaluate: $(STAMP)
	dvc repro reenact
	h2h bench evaluate

## The person-specific training benchmark (about 30 minutes): the first target trained from scratch
## on its preprocessed frames (dvc repro makes them), scored against the baselines by APD. The
## sample profile preprocesses 300 frames; with ingest.max_frames 600 or 0 use APD_FRAMES=600.
APD_FRAMES ?= 300
bench-apd: assets
	dvc repro flow nmfc eyes
	h2h bench apd --frames $(APD_FRAMES)

## Remove the pipeline's outputs and caches (not the virtual environment).
clean-outputs:
	rm -rf data/*/ .dvc/cache mlflow.db mlflow.db.lock mlruns logs .snakemake dvc.lock
