"""Subscriptions: plans, the subscription lifecycle, invoices and the due work that renews them."""
