"""`python -m segmint.cli`."""

from segmint.cli.app import main

main()
