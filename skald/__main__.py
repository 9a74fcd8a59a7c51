"""`python -m skald` runs the command line."""

from skald.cli import main

main()
