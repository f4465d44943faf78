# mmchest: `make demo` (install if needed, then the main job) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install lint test test-deps demo demo-rsna synthetic benchmark clean

install:
	@bash tools/install.sh

# ruff check (pycodestyle, pyflakes) and isort; configuration in pyproject.toml, run by CI (.ci/run).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/isort --check-only --diff mmchest tools tests configs projects benchmarks

test: install test-deps
	$(PY) -m pytest $(PYTEST_ARGS) tests

# The browser test of tools/serve.py drives Debian's headless Chromium; the DICOM SEG/SR
# tests validate with dicom3tools' dciodvfy and the PACS tests start Debian's Orthanc with
# its DICOMweb plugin. Each is skipped (with that reason) only when it cannot be installed.
test-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	    echo "[mmchest] installing chromium for the browser test" && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "[mmchest] chromium could not be installed: the browser test will be skipped"
	@missing=""; \
	  { [ -x /usr/sbin/Orthanc ] || command -v Orthanc >/dev/null 2>&1; } || missing="$$missing orthanc"; \
	  [ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || missing="$$missing orthanc-dicomweb"; \
	  command -v dciodvfy >/dev/null 2>&1 || missing="$$missing dicom3tools"; \
	  [ -z "$$missing" ] || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	    echo "[mmchest] installing$$missing for the DICOM SEG/SR and PACS tests" && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } || \
	  echo "[mmchest]$$missing could not be installed: the dciodvfy checks / Orthanc tests will be skipped"

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
