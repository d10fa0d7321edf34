"""XGBoost models in Bento bundles: `XgboostModelArtifact`, saved in XGBoost's own format.

Importing this package does not import xgboost (it is loaded at every `bento` start-up through
the plugin entry point); xgboost is imported when an artifact is packed, saved or loaded.
"""
from __future__ import annotations

from .artifact import DEFAULT_NTHREAD, XgboostModelArtifact

__version__ = "0.1.0"

__all__ = ["XgboostModelArtifact", "DEFAULT_NTHREAD"]
