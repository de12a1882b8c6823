"""The public API described in OpenAPI 3.1 (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from petition.api import openapi_osdi


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _error_body(code: dict[str, Any]) -> dict[str, Any]:
    """What every error answer holds under "error": its code and a message."""
    return {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": code, "message": {"type": "string"}},
    }


SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 80},
    "example": "help-ukraine-refugees",
}

LANG = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["en", "uk"], "default": "en"},
    "description": "The language of what staff wrote (title, ask). The answer's `language` "
    "says which it gave: English where there is no translation yet.",
}

CACHE_HEADERS = {
    "ETag": {
        "schema": {"type": "string"},
        "description": "Send it back in If-None-Match for a 304.",
    },
    "Cache-Control": {"schema": {"type": "string"}},
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": _error_body({"type": "string"})},
    },
    "Petition": {
        "type": "object",
        "required": [
            "slug",
            "title",
            "url",
            "state",
            "goal",
            "display_goal",
            "signature_count",
            "awaiting_confirmation",
        ],
        "properties": {
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "state": {
                "type": "string",
                "enum": ["open", "closed", "scheduled"],
                "description": "open: taking signatures; closed: by staff or past its closing "
                "date; scheduled: opens later",
            },
            "goal": {
                "type": "integer",
                "minimum": 1,
                "description": "The goal set by the campaign.",
            },
            "display_goal": {
                "type": "integer",
                "minimum": 1,
                "description": "The goal shown: raised to the next milestone once passed.",
            },
            "signature_count": {
                "type": "integer",
                "minimum": 0,
                "description": "Confirmed signatures: the count.",
            },
            "awaiting_confirmation": {
                "type": "integer",
                "minimum": 0,
                "description": "Signatures whose signer has not yet confirmed by email: shown "
                "beside the count, never added to it.",
            },
            "language": {
                "type": "string",
                "description": "The language of the title (and ask): the one asked for with "
                "`lang`, or `en` where it has not been translated.",
            },
            "opens_at": {"type": ["string", "null"], "format": "date-time"},
            "closes_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Integrity": {
        "type": "object",
        "required": ["petition", "figures", "counted_at", "reconciled", "digests", "definitions"],
        "properties": {
            "petition": {"$ref": "#/components/schemas/PetitionName"},
            "figures": {
                "type": "object",
                "required": [
                    "received",
                    "confirmed",
                    "awaiting_confirmation",
                    "withdrawn",
                    "invalidated",
                    "invalidated_by_category",
                    "expired",
                    "replaced",
                    "duplicates_turned_away",
                    "reminders_sent",
                    "confirmed_after_reminder",
                ],
                "properties": {
                    "invalidated_by_category": {
                        "type": "object",
                        "required": ["duplicate", "disposable", "rate", "other"],
                        "additionalProperties": {"type": "integer", "minimum": 0},
                    }
                },
                "additionalProperties": {"type": ["integer", "object"]},
            },
            "counted_at": {"type": ["string", "null"], "format": "date-time"},
            "reconciled": {
                "type": "object",
                "required": ["at", "matched"],
                "properties": {
                    "at": {"type": ["string", "null"], "format": "date-time"},
                    "matched": {"type": ["boolean", "null"]},
                },
            },
            "digests": {
                "type": "object",
                "required": ["published", "latest"],
                "properties": {
                    "published": {"type": "integer", "minimum": 0},
                    "latest": {
                        "type": "array",
                        "description": "The latest digests, newest first",
                        "items": {
                            "type": "object",
                            "required": [
                                "number",
                                "published_at",
                                "added",
                                "removed",
                                "counted",
                                "previous",
                                "sha256",
                            ],
                            "properties": {
                                "number": {"type": "integer", "minimum": 1},
                                "published_at": {"type": "string", "format": "date-time"},
                                "added": {"type": "integer", "minimum": 0},
                                "removed": {"type": "integer", "minimum": 0},
                                "counted": {"type": "integer"},
                                "previous": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                            },
                        },
                    },
                },
            },
            "definitions": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "History": {
        "type": "object",
        "required": ["petition", "hours", "countries_by_day"],
        "properties": {
            "petition": {"$ref": "#/components/schemas/PetitionName"},
            "hours": {
                "type": "array",
                "description": "Hours (UTC) in which anything happened, oldest first",
                "items": {
                    "type": "object",
                    "required": ["hour", "signed", "confirmed", "total"],
                    "properties": {
                        "hour": {"type": "string", "format": "date-time"},
                        "signed": {"type": "integer", "minimum": 0},
                        "confirmed": {
                            "type": "integer",
                            "description": "Change in confirmed signatures: confirmations "
                            "less withdrawals and invalidations",
                        },
                        "total": {"type": "integer", "description": "Confirmed at the hour's end"},
                    },
                },
            },
            "countries_by_day": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["day", "country", "confirmed"],
                    "properties": {
                        "day": {"type": "string", "format": "date"},
                        "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                        "confirmed": {"type": "integer"},
                    },
                },
            },
        },
    },
    "PetitionName": {
        "type": "object",
        "required": ["slug", "title"],
        "properties": {"slug": {"type": "string"}, "title": {"type": "string"}},
    },
    "PetitionDetail": {
        "allOf": [
            {"$ref": "#/components/schemas/Petition"},
            {
                "type": "object",
                "required": ["ask", "signatures_by_country", "milestones", "news"],
                "properties": {
                    "ask": {"type": "string"},
                    "signatures_by_country": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["country", "count"],
                            "properties": {
                                "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                                "count": {"type": "integer", "minimum": 1},
                            },
                        },
                    },
                    "milestones": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["threshold", "reached_at"],
                            "properties": {
                                "threshold": {"type": "integer"},
                                "reached_at": {"type": "string", "format": "date-time"},
                            },
                        },
                    },
                    "news": {
                        "description": "What happened next, newest first (the latest 10).",
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["title", "body", "published_at"],
                            "properties": {
                                "title": {"type": "string"},
                                "body": {"type": "string", "description": "Plain text"},
                                "published_at": {"type": "string", "format": "date-time"},
                                "language": {
                                    "type": "string",
                                    "description": "The language of this item's text: the "
                                    "one asked for, or `en` where it has no translation.",
                                },
                            },
                        },
                    },
                },
            },
        ]
    },
    "SignatureRequest": {
        "type": "object",
        "required": ["name", "email", "country", "form_token"],
        "properties": {
            "name": {"type": "string", "maxLength": 100},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "country": {
                "type": "string",
                "description": "ISO 3166-1 alpha-2, in either case (kept in capitals)",
                "example": "GB",
            },
            "postcode": {
                "type": "string",
                "maxLength": 16,
                "description": "Required when country is GB.",
            },
            "consent_updates": {"type": "boolean", "default": False},
            "show_publicly": {
                "type": "boolean",
                "default": False,
                "description": "Show their first name and country among the recent signers "
                "(where the petition shows them).",
            },
            "replaces": {
                "type": "string",
                "description": "From an earlier answer: this signing corrects that one's address",
            },
            "email_choice": {
                "type": "string",
                "enum": ["suggested", "typed"],
                "description": "The answer to a suggested correction of the address (422 "
                "with `suggestions.email`): take the suggestion, or keep the address as typed.",
            },
            "form_token": {
                "type": "string",
                "description": "From the widget page; proves the form is ours and recent.",
            },
            "source": {
                "type": "string",
                "description": "Where the signature came from, e.g. widget:news.example",
            },
            "ref": {"type": "string", "description": "The host name of the page the form sat on."},
            "utm_source": {"type": "string"},
            "utm_medium": {"type": "string"},
            "utm_campaign": {"type": "string"},
            "partner": {
                "type": "string",
                "description": "The partner whose widget or page it came through (its name in "
                "our addresses, e.g. refugee-action); unknown names are ignored.",
            },
            "consent_partner": {
                "type": "boolean",
                "default": False,
                "description": "Yes to the partner's own question (apart from ours).",
            },
        },
    },
    "SignatureAccepted": {
        "type": "object",
        "required": ["status", "message", "sent_to", "replaces"],
        "properties": {
            "status": {"const": "check_email"},
            "message": {"type": "string"},
            "sent_to": {
                "type": "string",
                "description": "The address the link went to, partly hidden (so…@example.org)",
            },
            "replaces": {
                "type": "string",
                "description": "Send this back as `replaces` when signing again with a "
                "corrected address: the signature just made (if still unconfirmed) is replaced",
            },
        },
    },
    "ValidationErrors": {
        "type": "object",
        "required": ["error", "errors"],
        "properties": {
            "error": _error_body({"const": "invalid"}),
            "errors": {
                "type": "object",
                "description": "A message for each field to correct, by the field's name",
                "additionalProperties": {"type": "string"},
            },
            "suggestions": {
                "type": "object",
                "description": "What the signer probably meant (e.g. a misspelt email domain)",
                "additionalProperties": {"type": "string"},
            },
        },
    },
    "DonationSummary": {
        "type": "object",
        "required": ["count", "amount_minor", "currency"],
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "amount_minor": {"type": "integer", "minimum": 0, "description": "Pence."},
            "currency": {"const": "gbp"},
        },
    },
    "OEmbed": {
        "type": "object",
        "required": ["version", "type", "html", "width", "height", "provider_name", "provider_url"],
        "properties": {
            "version": {"const": "1.0"},
            "type": {"const": "rich"},
            "title": {"type": "string"},
            "html": {"type": "string"},
            "width": {"type": "integer"},
            "height": {"type": "integer"},
            "provider_name": {"type": "string"},
            "provider_url": {"type": "string"},
            "cache_age": {"type": "integer"},
        },
    },
}


def _csv_download(summary: str) -> dict[str, Any]:
    """A petition's open data as a cacheable CSV file."""
    return {
        "get": {
            "summary": summary,
            "parameters": [SLUG],
            "responses": {
                "200": {
                    "description": "CSV",
                    "headers": CACHE_HEADERS,
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                "404": _error("No such petition"),
            },
        }
    }


def openapi_document() -> dict[str, Any]:
    server = current_app.config["PUBLIC_URL"]
    json_ok = {"content": {"application/json": {"schema": {}}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Refugees Welcome petition API",
            "version": "1.0.0",
            "description": (
                "Live counts for anyone (cacheable, CORS-open, no personal data), signing for our "
                "widget and partners, oEmbed for content management systems, and for partners "
                "with a key, an OSDI API (HAL+JSON) of petitions and their own signers."
            ),
        },
        "servers": [{"url": server}],
        "paths": {
            "/api/v1/petitions": {
                "get": {
                    "summary": "Public petitions with their confirmed counts",
                    "parameters": [LANG],
                    "responses": {
                        "200": {
                            "description": "The petitions",
                            "headers": CACHE_HEADERS,
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["petitions"],
                                        "properties": {
                                            "petitions": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Petition"},
                                            }
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/api/v1/petitions/{slug}": {
                "get": {
                    "summary": "One petition: counts, goal, state and counts by country",
                    "parameters": [SLUG, LANG],
                    "responses": {
                        "200": {
                            "description": "The petition",
                            "headers": CACHE_HEADERS,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/PetitionDetail"}
                                }
                            },
                        },
                        "304": {"description": "Not modified since the ETag given"},
                        "404": _error("No such petition"),
                    },
                }
            },
            "/api/v1/petitions/{slug}/signatures": {
                "post": {
                    "summary": "Sign; a confirmation email follows (same answer if already signed)",
                    "description": (
                        "What the widget's form sends. `form_token` is the hidden field of the"
                        " form on the widget page (`/embed/petitions/{slug}`), good for 12 hours by"
                        " default, and the request's `Origin` must be a site allowed to embed the"
                        " widget. A partner recording signatures it collected itself uses the"
                        " OSDI API with its key instead."
                    ),
                    "parameters": [
                        SLUG,
                        {
                            **LANG,
                            "description": "The language the signer reads: their emails and"
                            " the links in them, and the messages in the answer.",
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SignatureRequest"}
                            },
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "Accepted: the signer must confirm by email",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/SignatureAccepted"}
                                }
                            },
                        },
                        "400": _error("Not a JSON object, or unreadable"),
                        "403": _error(
                            "Missing, forged or expired form token, or a page that is not allowed"
                        ),
                        "404": _error("No such petition"),
                        "409": _error("The petition is not taking signatures"),
                        "413": _error("Body too large"),
                        "422": {
                            "description": "Field errors",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ValidationErrors"}
                                }
                            },
                        },
                        "429": _error("Too many attempts from this address"),
                    },
                }
            },
            "/api/v1/petitions/{slug}/integrity": {
                "get": {
                    "summary": "How the count was made: every figure behind it, defined",
                    "parameters": [SLUG],
                    "responses": {
                        "200": {
                            "description": "The integrity report",
                            "headers": CACHE_HEADERS,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Integrity"}
                                }
                            },
                        },
                        "304": {"description": "Not modified since the ETag given"},
                        "404": _error("No such petition"),
                    },
                }
            },
            "/api/v1/petitions/{slug}/history": {
                "get": {
                    "summary": "Open data: confirmed signatures by hour, and by country by day",
                    "parameters": [SLUG],
                    "responses": {
                        "200": {
                            "description": "The history",
                            "headers": CACHE_HEADERS,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/History"}
                                }
                            },
                        },
                        "304": {"description": "Not modified since the ETag given"},
                        "404": _error("No such petition"),
                    },
                }
            },
            "/api/v1/petitions/{slug}/history.csv": _csv_download(
                "The hourly history as CSV: hour_utc, signed, confirmed_change, confirmed_total"
            ),
            "/api/v1/petitions/{slug}/history/countries.csv": _csv_download(
                "Confirmed signatures by country, day by day, as CSV: day_utc, country, "
                "confirmed_change"
            ),
            "/api/v1/petitions/{slug}/digests/{number}.txt": {
                "get": {
                    "summary": "A published digest, exactly the text its SHA-256 is of",
                    "parameters": [
                        SLUG,
                        {
                            "name": "number",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "Six header lines, then one line per receipt "
                            "entering (+) or leaving (-) the count",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "404": _error("No such petition or digest"),
                    },
                }
            },
            "/api/v1/donations/summary": {
                "get": {
                    "summary": "Paid, unrefunded card donations",
                    "responses": {
                        "200": {
                            "description": "The summary",
                            "headers": CACHE_HEADERS,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/DonationSummary"}
                                }
                            },
                        }
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1", **json_ok}},
                }
            },
            "/oembed": {
                "get": {
                    "summary": "oEmbed for petition pages",
                    "parameters": [
                        {
                            "name": "url",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "format",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["json", "xml"]},
                        },
                        {
                            "name": "maxwidth",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1},
                        },
                        {
                            "name": "maxheight",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The embed",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/OEmbed"}
                                }
                            },
                        },
                        "400": _error("Bad parameters"),
                        "404": _error("Not one of our petitions"),
                        "501": _error("A format other than json"),
                    },
                }
            },
            **openapi_osdi.paths(_error),
        },
        "components": {
            "schemas": {**SCHEMAS, **openapi_osdi.SCHEMAS},
            "securitySchemes": openapi_osdi.SECURITY_SCHEMES,
        },
    }
