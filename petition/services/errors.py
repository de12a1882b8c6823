"""Domain errors raised by services; the web layer turns each into a response."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class of every error a service raises on purpose."""


class NotFound(ServiceError):
    """The thing asked for does not exist (or is not public)."""


class PetitionNotOpen(ServiceError):
    """The petition is not taking signatures."""


class InvalidInput(ServiceError):
    """Input failed a rule; `errors` maps each field to a message for the reader."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class LinkInvalid(ServiceError):
    """A link from an email is unknown, expired or no longer applies."""


class ConfirmationClosed(ServiceError):
    """The petition closed too long ago for a signature to be confirmed."""


class NotAllowed(ServiceError):
    """The person acting may not do this (e.g. an editor changing where donations go)."""
