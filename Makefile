# mmchest: `make demo` (install if needed, then the main job) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install test test-deps demo demo-rsna synthetic benchmark clean

install:
	@bash tools/install.sh

test: install test-deps
	$(PY) -m pytest $(PYTEST_ARGS) tests

# The browser test of tools/serve.py drives Debian's headless Chromium; it is skipped (with
# that reason) only when Chromium cannot be installed here.
test-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	    echo "[mmchest] installing chromium for the browser test" && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "[mmchest] chromium could not be installed: the browser test will be skipped"

demo: install
	@bash tools/demo.sh

demo-rsna: install
	@bash tools/demo_rsna.sh

synthetic: install
	$(PY) tools/make_synthetic_data.py --out datasets/synthetic

benchmark: install
	$(PY) benchmarks/dicom_load.py
	$(PY) benchmarks/rle_codec.py

clean:
	rm -rf work_dirs .pytest_cache
