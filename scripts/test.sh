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
exec .venv/bin/python -m pytest "$@"
