#!/usr/bin/env bash
# Set up (first time) and run the whole test suite: lint, unit, AppTest and headless-browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser test drives Debian's Chromium (Playwright cannot download its own browser here).
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi
bash scripts/setup.sh --dev
.venv/bin/ruff check .
export TF_CPP_MIN_LOG_LEVEL=2
.venv/bin/python -m pytest "$@"
# Without arguments (the whole suite), the parts that read tables and text run again as if the
# text extra were not installed: text columns must then be left out with a note, never crash.
if [ $# -eq 0 ]; then
  DETECTOR_WITHOUT_TEXT=1 .venv/bin/python -m pytest -q -p no:cacheprovider \
    tests/test_columns.py tests/test_preprocessing.py tests/test_text.py tests/test_app_text.py \
    tests/test_app_data.py tests/test_cli.py
fi
