"""A fresh BENTO_HOME per test; the services of the compile tests importable by name (a bundle re-imports them)."""
from __future__ import annotations

import os
import sys

from bento.testing import bento_home  # noqa: F401  (a private BENTO_HOME per test)

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
