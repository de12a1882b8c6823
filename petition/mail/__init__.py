"""Mail: the outbox (queued with the change that causes it) and the transport that sends it."""

from petition.mail.outbox import DeliveryReport, deliver_due, queue_email

__all__ = ["DeliveryReport", "deliver_due", "queue_email"]
