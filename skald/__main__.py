"""`python -m skald` runs the command line."""

from skald.cli import main

if __name__ == "__main__":  # not again in a spawned replay worker, which imports this module
    main()
