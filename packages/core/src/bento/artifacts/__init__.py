"""Artifacts: the base contract and the types built into core."""
from .base import ArtifactCollection, BentoServiceArtifact
from .builtin import JSONArtifact, PickleArtifact, TextFileArtifact

__all__ = ["BentoServiceArtifact", "ArtifactCollection", "PickleArtifact", "JSONArtifact", "TextFileArtifact"]
