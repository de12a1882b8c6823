"""Mail: the outbox (queued with the change that causes it) and the transport that sends it."""

from petition.mail.outbox import (
    DeliveryReport,
    compose_email,
    deliver_due,
    mark_queued,
    queue_email,
    wake_deliverer,
)

__all__ = [
    "DeliveryReport",
    "compose_email",
    "deliver_due",
    "mark_queued",
    "queue_email",
    "wake_deliverer",
]
