"""Entry point for ``python -m detector``."""

import os
import sys

# TensorFlow's C++ start-up chatter would bury the CLI's own progress lines on stderr.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from detector.cli import main

sys.exit(main())
