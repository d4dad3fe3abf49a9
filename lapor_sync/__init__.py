"""lapor-sync: keeps a province's complaint records and SP4N-LAPOR! in step."""

__version__ = "0.1.0"
