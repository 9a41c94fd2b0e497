"""Pure domain: money, the ledger, errors. No I/O and no framework imports."""
