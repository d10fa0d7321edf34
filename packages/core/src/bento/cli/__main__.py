"""`python -m bento.cli` = `bento`."""
from . import main

main()
