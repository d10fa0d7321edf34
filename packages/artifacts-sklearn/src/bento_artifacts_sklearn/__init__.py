"""Bento artifact for scikit-learn models. Importing it does not import scikit-learn."""
from __future__ import annotations

from .artifact import SklearnModelArtifact

__version__ = "0.1.0"

__all__ = ["SklearnModelArtifact"]
