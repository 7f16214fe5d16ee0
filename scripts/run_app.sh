#!/usr/bin/env bash
# Set up (first time) and start the dashboard; it opens on the bundled sample data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m streamlit run app.py "$@"
