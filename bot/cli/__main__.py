"""`python -m bot.cli`: the same as `faqbot` (tests and benchmarks start the bot this way)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
