"""Allows ``python -m lapor_sync``."""

from lapor_sync.cli import main

main()
