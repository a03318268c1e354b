# Wallboard: `make demo` runs it, `make test` checks it. Both set up what they need first:
# Debian packages with apt-get (through sudo when not root) and a .venv for Python.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# command:package pairs; a package is installed only when its command is missing.
# Xvfb is the kiosk tests' screen, tesseract reads the numbers off their screenshots,
# headless Chromium opens the HTML reports, shellcheck and systemd-analyze check kiosk/.
SYSTEM_DEPS := mosquitto:mosquitto mosquitto_sub:mosquitto-clients influxd:influxdb \
	Xvfb:xvfb tesseract:tesseract-ocr openssl:openssl chromium:chromium shellcheck:shellcheck \
	systemd-analyze:systemd faketime:faketime
# Libraries with no command to look for: Mesa's software OpenGL for Kivy, and mtdev for
# touch screens (Kivy looks for it at start-up).
SYSTEM_LIBS := libgl1-mesa-dri libmtdev1
# Durable shared subscriptions (recorder --share) need Mosquitto 2.0.12 or newer; Debian
# bookworm ships 2.0.11, its backports suite a newer one.
MOSQUITTO_MIN := 2.0.12

.PHONY: all setup system venv test lint typecheck pytest demo bench docs screenshots grafana clean

all: test

setup: system venv

system:
	@missing=""; \
	for pair in $(SYSTEM_DEPS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null || [ -x /usr/sbin/$$cmd ] || missing="$$missing $$pkg"; \
	done; \
	for pkg in $(SYSTEM_LIBS); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || \
	    missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi; \
	broker=$$(command -v mosquitto || echo /usr/sbin/mosquitto); \
	version=$$($$broker -h 2>/dev/null | sed -n 's/^mosquitto version //p'); \
	if ! dpkg --compare-versions "$${version:-0}" ge $(MOSQUITTO_MIN); then \
	  echo "Mosquitto $${version:-?} is older than $(MOSQUITTO_MIN): installing it from backports"; \
	  $(SUDO) kiosk/add-backports.sh && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    -t "$$(. /etc/os-release && echo $$VERSION_CODENAME)-backports" mosquitto mosquitto-clients \
	    || exit 1; \
	fi; \
	python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Wallboard needs Python 3.11 or newer (Debian 12 ships it)"; exit 1; }

venv: $(STAMP)

# Debian's python3 needs python3-venv to make a venv; install it only if making one fails.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV) || { rm -rf $(VENV); \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && \
	  python3 -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[influx,kiosk,desk,reports,dev]'
	touch $@

test: setup lint typecheck pytest

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv
	$(VENV)/bin/mypy

pytest: venv
	$(VENV)/bin/pytest

# Private mosquitto and influxd, the controller and a simulated 200-agent floor, shown live
# in the terminal; Ctrl-C stops them all. DEMO_ARGS passes options, e.g. --speed 20.
demo: setup
	$(VENV)/bin/wallboard demo $(DEMO_ARGS)

bench: setup
	$(PY) benchmarks/floor_fold.py --write docs/benchmarks.md
	$(PY) benchmarks/controller_live.py --write docs/benchmarks.md
	$(PY) benchmarks/mqtt_fast_path.py --write docs/benchmarks.md
	$(PY) benchmarks/desk_latency.py --write docs/benchmarks.md
	$(PY) benchmarks/kiosk_refresh.py --write docs/benchmarks.md
	$(PY) benchmarks/recorder_ingest.py --write docs/benchmarks.md
	$(PY) benchmarks/report.py --write docs/benchmarks.md
	$(PY) benchmarks/asterisk_translate.py --write docs/benchmarks.md

# The wall screen for a simulated 200-agent floor, floor and supervisor audiences, as PNGs.
screenshots: setup
	$(PY) -m wallboard.kiosk.screenshots --out docs/screenshots
	WALLBOARD_UPDATE_SCREENSHOTS=1 $(PY) -m pytest -q tests/test_report_week.py -k chromium

docs: venv
	$(PY) -m wallboard.protocol_doc --write docs/protocol.md

# The Grafana dashboards, generated from wallboard/grafana/ (tests/test_grafana.py fails
# when the committed JSON differs from what the code generates).
grafana: venv
	$(PY) -m wallboard.grafana --out grafana/dashboards

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
