"""Notifications: outbound webhooks, written to an outbox with the change they report and delivered by a job."""
