"""bento-core's version, apart from the package face so every layer can read it."""
__version__ = "0.1.0"
