"""The pluggy markers of the `bento` project, at the very bottom of core: the modules that
implement a hook take `hookimpl` from here, below hookspecs.py (whose type hints name the layers
above it)."""
import pluggy

__all__ = ["hookspec", "hookimpl"]

hookspec = pluggy.HookspecMarker("bento")
hookimpl = pluggy.HookimplMarker("bento")
