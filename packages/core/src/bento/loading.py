"""`bento.load`: a service from a bundle path or a repository tag, through the trust gate."""
from __future__ import annotations

from typing import Any, Optional

from .bundle.reader import load_bundle
from .bundle.trust import TrustPolicy
from .config import Config, load_config
from .plugins import PluginManager, default_manager
from .repository import resolve

__all__ = ["load", "trust_policy"]


def trust_policy(config: Config, trust_pickle: Optional[bool] = None) -> TrustPolicy:
    """What this user trusts: `trust_pickle` (default config `security.trust_pickle`) and the
    signers of config `security.allowed_signers`."""
    security = config.security
    trust = security.trust_pickle if trust_pickle is None else trust_pickle
    return TrustPolicy(trust_pickle=bool(trust), allowed_signers=security.allowed_signers)


def load(path_or_tag: str, *, trust_pickle: Optional[bool] = None, plugins: Optional[PluginManager] = None,
         config: Optional[Config] = None) -> Any:
    """Load a saved service from a bundle path (a bundle, its package directory or an installed
    bundle's package) or a `NAME[:VERSION|:latest]` tag.

    Pickle-based artifacts of a bundle that came from a registry load only when trusted:
    `trust_pickle` (default: config `security.trust_pickle`), or a signature by a key of config
    `security.allowed_signers`. `plugins` and `config` default to the process' plugin manager
    and the configuration it loads (config.toml, BENTO_* variables)."""
    pm = plugins or default_manager()
    config = config or load_config(pm)
    return load_bundle(resolve(path_or_tag, pm, config), pm, trust_policy(config, trust_pickle))
