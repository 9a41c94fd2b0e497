"""Payments, one idea per module: the lifecycle (take, confirm, capture, cancel, refund), proceeds moved into
wallets, provider events (disputes, failed refunds), expiry, and the books they all write to."""
