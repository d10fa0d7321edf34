"""The `[yatai]` section of config.toml (also BENTO_YATAI_<KEY>): where clients find the
registry and how the server stores bundles. CLI flags override both."""
from __future__ import annotations

from typing import Any, Optional

import attrs
from bento.config import Config, load_config
from bento.plugins import default_manager

__all__ = ["YataiConfig", "yatai_config", "GiB", "MIN_UNPACK_CAP"]

GiB = 1 << 30
MIN_UNPACK_CAP = 64 << 20


def _positive(_: Any, attribute: Any, value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1")


@attrs.frozen(kw_only=True)
class YataiConfig:
    # client side
    url: str = ""  # host:port, grpc://host:port or grpcs://host:port
    token: str = ""
    tls_ca_cert: str = ""  # PEM file trusted for grpcs:// (default: the system roots)
    # A pulled archive may unpack to at most max_unpack_ratio times its size (at least
    # MIN_UNPACK_CAP, so small bundles of text still fit) and never more than max_unpacked_size.
    max_unpack_ratio: int = attrs.field(default=32, validator=_positive)
    max_unpacked_size: int = attrs.field(default=20 * GiB, validator=_positive)
    max_members: int = attrs.field(default=20_000, validator=_positive)  # ... and more files than this
    # server side (`bento yatai start` flags override these)
    db_url: str = ""  # default sqlite under $BENTO_HOME/yatai/
    repo_base_url: str = ""  # a directory or s3://bucket/prefix; default $BENTO_HOME/yatai/bundles
    s3_endpoint_url: str = ""  # e.g. http://127.0.0.1:9310; default AWS S3
    s3_access_key: str = ""  # default AWS_ACCESS_KEY_ID
    s3_secret_key: str = ""  # default AWS_SECRET_ACCESS_KEY
    s3_region: str = ""


def yatai_config(config: Optional[Config] = None) -> YataiConfig:
    """The `[yatai]` section of `config`; a library caller that has none gets the process' own."""
    return (config if config is not None else load_config(default_manager())).section("yatai")
