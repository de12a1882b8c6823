"""Every model, importable from one place (Alembic and the services read them from here)."""

from petition.models.admin import AdminUser, AuditLog, Role
from petition.models.article import Article, ArticleDailyViews, ArticleState
from petition.models.base import Base, utcnow
from petition.models.campaign import (
    MILESTONES,
    Campaign,
    Petition,
    PetitionMilestone,
    PetitionNews,
    PetitionState,
    display_goal,
)
from petition.models.consent import ConsentEvent, ConsentWording, UpdateConsent
from petition.models.counts import CountJournalEntry, PetitionCountryCount, PetitionHour
from petition.models.donation import (
    STATUS_RANK,
    Donation,
    DonationStatus,
    EarlyRefund,
    OutboundClick,
    StripeEvent,
)
from petition.models.figures import Figure
from petition.models.image import Image, ImageRendition
from petition.models.integrity import CountDigest, PetitionCountryDay, PetitionTally, ReceiptEntry
from petition.models.outbox import Lane, Mailing, MailingState, OutboxMessage, Suppression
from petition.models.partner import (
    Partner,
    PartnerKey,
    PartnerWording,
    WebhookDelivery,
    WebhookEndpoint,
)
from petition.models.signature import (
    INVALIDATION_CATEGORIES,
    Signature,
    SignatureState,
    SignatureToken,
    TokenPurpose,
)
from petition.models.worker import WorkerHeartbeat

__all__ = [
    "Partner",
    "PartnerKey",
    "PartnerWording",
    "WebhookDelivery",
    "WebhookEndpoint",
    "INVALIDATION_CATEGORIES",
    "MILESTONES",
    "STATUS_RANK",
    "Donation",
    "DonationStatus",
    "EarlyRefund",
    "Figure",
    "Image",
    "ImageRendition",
    "OutboundClick",
    "StripeEvent",
    "AdminUser",
    "Article",
    "ArticleDailyViews",
    "ArticleState",
    "AuditLog",
    "Role",
    "Base",
    "Campaign",
    "ConsentEvent",
    "ConsentWording",
    "CountDigest",
    "CountJournalEntry",
    "Lane",
    "Mailing",
    "MailingState",
    "OutboxMessage",
    "Suppression",
    "Petition",
    "PetitionCountryCount",
    "PetitionCountryDay",
    "PetitionHour",
    "PetitionMilestone",
    "PetitionNews",
    "PetitionState",
    "PetitionTally",
    "ReceiptEntry",
    "Signature",
    "SignatureState",
    "SignatureToken",
    "TokenPurpose",
    "UpdateConsent",
    "WorkerHeartbeat",
    "display_goal",
    "utcnow",
]
