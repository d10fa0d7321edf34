"""`bento.load`: a service from a bundle path or a repository tag."""
from __future__ import annotations

from typing import Any, Optional

from .bundle.reader import load_bundle
from .config import Config, load_config
from .plugins import PluginManager, default_manager
from .repository import resolve

__all__ = ["load"]


def load(path_or_tag: str, *, trust_pickle: Optional[bool] = None, plugins: Optional[PluginManager] = None,
         config: Optional[Config] = None) -> Any:
    """Load a saved service from a bundle path or a `NAME[:VERSION|:latest]` tag.

    `trust_pickle` (default: config `security.trust_pickle`) allows pickle-based artifacts of a
    bundle that came from a registry. `plugins` and `config` default to the process' plugin
    manager and the configuration it loads (config.toml, BENTO_* variables)."""
    pm = plugins or default_manager()
    config = config or load_config(pm)
    trust = config.security.trust_pickle if trust_pickle is None else trust_pickle
    return load_bundle(resolve(path_or_tag, pm, config), pm, trust_pickle=bool(trust))
