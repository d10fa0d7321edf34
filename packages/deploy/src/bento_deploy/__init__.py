"""bento-deploy: bundles served on a platform (`local`, `kubernetes`, or a plugin's), with their
records kept in the deployment store. See docs/deployments.md."""
from __future__ import annotations

from .manager import Deployments
from .store import LocalDeploymentStore, get_deployment_store

__version__ = "0.1.0"

__all__ = ["Deployments", "LocalDeploymentStore", "get_deployment_store"]
