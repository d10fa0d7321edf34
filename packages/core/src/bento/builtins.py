"""Core's own plugins, registered on the same manager as third-party ones."""
from __future__ import annotations

from . import config as config_plugin
from .artifacts import plugin as artifacts_plugin
from .cli import plugin as commands_plugin
from .deployment import plugin as deployment_plugin
from .repository import plugin as repository_plugin

MODULES = [config_plugin, artifacts_plugin, repository_plugin, deployment_plugin, commands_plugin]
