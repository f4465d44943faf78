# mmchest: `make demo` (install if needed, then the main job) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install test demo synthetic benchmark clean

install:
	@bash tools/install.sh

test: install
	$(PY) -m pytest $(PYTEST_ARGS) tests

demo: install
	@bash tools/demo.sh

synthetic: install
	$(PY) tools/make_synthetic_data.py --out datasets/synthetic

benchmark: install
	$(PY) benchmarks/dicom_load.py
	$(PY) benchmarks/rle_codec.py

clean:
	rm -rf work_dirs .pytest_cache
