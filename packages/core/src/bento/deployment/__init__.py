"""Deployments: a bundle served on a platform (`local`, `kubernetes`, or a plugin's), with its
record kept in the deployment store. See docs/deployments.md."""
from __future__ import annotations

from .base import STATES, Deployer, Deployment, DeploymentStatus, bool_option, int_option, str_option
from .manager import create_deployment, delete_deployment, get_deployment, list_deployments, update_deployment
from .store import DeploymentStore, LocalDeploymentStore, get_deployment_store

__all__ = [
    "STATES", "Deployer", "Deployment", "DeploymentStatus", "DeploymentStore", "LocalDeploymentStore",
    "get_deployment_store", "create_deployment", "update_deployment", "get_deployment", "list_deployments",
    "delete_deployment", "int_option", "bool_option", "str_option",
]
