"""Mail: the outbox (queued with the change that causes it) and the deliverer that sends it."""

from petition.mail.delivery import DeliveryReport, deliver_due
from petition.mail.outbox import compose_email, mark_queued, queue_email, wake_deliverer

__all__ = [
    "DeliveryReport",
    "compose_email",
    "deliver_due",
    "mark_queued",
    "queue_email",
    "wake_deliverer",
]
