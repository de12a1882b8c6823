"""The partners' OSDI API (`/api/osdi/v1`) in the OpenAPI document: HAL+JSON behind a key."""

from __future__ import annotations

from typing import Any

from petition.services.partners import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE

HAL = "application/hal+json"
KEY = [{"partnerKey": []}]
SECURITY_SCHEMES = {
    "partnerKey": {
        "type": "apiKey",
        "in": "header",
        "name": "OSDI-API-Token",
        "description": "A partner's API key (`flask --app app partner key SLUG`); "
        "`Authorization: Bearer …` works too.",
    }
}

SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 80},
    "example": "help-ukraine-refugees",
}
PAGING = [
    {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    },
    {
        "name": "per_page",
        "in": "query",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_PAGE_SIZE,
            "default": DEFAULT_PAGE_SIZE,
        },
    },
]

LINK = {"type": "object", "required": ["href"], "properties": {"href": {"type": "string"}}}


def _person(required: list[str], sent: bool) -> dict[str, Any]:
    """An OSDI person as we give it (sent False) or take it from a partner (sent True: at
    least one address, whose `status` may say they subscribed)."""
    email: dict[str, Any] = {"address": {"type": "string"}, "primary": {"type": "boolean"}}
    emails: dict[str, Any] = {
        "type": "array",
        "items": {"type": "object", "required": ["address"], "properties": email},
    }
    if sent:
        email["status"] = {"type": "string"}
        emails["minItems"] = 1
    postal = {
        "postal_code": {"type": "string"},
        "country": {"type": "string"},
        "primary": {"type": "boolean"},
    }
    return {
        "type": "object",
        "required": required,
        "properties": {
            "given_name": {"type": "string"},
            "family_name": {"type": "string"},
            "email_addresses": emails,
            "postal_addresses": {
                "type": "array",
                "items": {"type": "object", "properties": postal},
            },
            "languages_spoken": {
                "type": "array",
                "items": {"type": "string"},
                "description": "RFC 5646 tags (`uk`, `uk-UA`). Taking a person, our emails "
                "speak the first of preferred_language and these that we have (English, "
                "Ukrainian); English otherwise.",
            },
            **({"preferred_language": {"type": "string"}} if sent else {}),
        },
    }


DATE = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "OsdiEntryPoint": {
        "type": "object",
        "required": ["osdi_version", "max_pagesize", "namespace", "_links"],
        "properties": {
            "motd": {"type": "string"},
            "vendor_name": {"type": "string"},
            "product_name": {"type": "string"},
            "osdi_version": {"type": "string"},
            "max_pagesize": {"type": "integer"},
            "namespace": {"type": "string"},
            "_links": {
                "type": "object",
                "required": ["self", "osdi:petitions"],
                "properties": {"self": LINK, "osdi:petitions": LINK},
            },
        },
    },
    "OsdiPetition": {
        "type": "object",
        "required": ["identifiers", "title", "browser_url", "total_signatures", "_links"],
        "properties": {
            "identifiers": {"type": "array", "items": {"type": "string"}},
            "origin_system": {"type": "string"},
            "created_date": DATE,
            "modified_date": DATE,
            "name": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "petition_text": {"type": "string"},
            "browser_url": {"type": "string"},
            "featured_image_url": {"type": "string"},
            "total_signatures": {"type": "integer", "minimum": 0},
            "status": {"type": "string"},
            "target": {
                "type": "array",
                "items": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
            "_links": {
                "type": "object",
                "required": ["self", "osdi:signatures"],
                "description": "osdi:record_signature_helper is there for a key that may write.",
                "properties": {
                    "self": LINK,
                    "osdi:signatures": LINK,
                    "osdi:record_signature_helper": LINK,
                },
            },
        },
    },
    "OsdiPerson": _person(
        ["given_name", "family_name", "email_addresses", "postal_addresses"], sent=False
    ),
    "OsdiSignature": {
        "type": "object",
        "description": "A signer who came through the partner, said yes to its own question "
        "and confirmed by email.",
        "required": ["identifiers", "action_date", "_links", "_embedded"],
        "properties": {
            "identifiers": {"type": "array", "items": {"type": "string"}},
            "origin_system": {"type": "string"},
            "created_date": DATE,
            "modified_date": DATE,
            "action_date": DATE,
            "confirmed_date": DATE,
            "partner_consent_date": DATE,
            "referrer_data": {"type": "object"},
            "_links": {"type": "object", "required": ["self", "osdi:petition"]},
            "_embedded": {
                "type": "object",
                "required": ["osdi:person"],
                "properties": {"osdi:person": {"$ref": "#/components/schemas/OsdiPerson"}},
            },
        },
    },
}


SCHEMAS["OsdiRecordSignature"] = {
    "type": "object",
    "required": ["person"],
    "description": "A signature the partner collected. An email address with status "
    "`subscribed` is the signer's yes to the partner's own question.",
    "properties": {
        "person": _person(["email_addresses"], sent=True),
        "referrer_data": {
            "type": "object",
            "properties": {"source": {"type": "string"}, "website": {"type": "string"}},
        },
    },
}
SCHEMAS["OsdiRecorded"] = {
    "type": "object",
    "required": ["status", "message"],
    "description": "The same answer whether or not the person had signed before.",
    "properties": {
        "status": {"type": "string", "enum": ["awaiting_confirmation", "counted"]},
        "message": {"type": "string"},
        "_links": {"type": "object"},
    },
}
SCHEMAS["OsdiInvalid"] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "errors"],
            "properties": {
                "code": {"const": "invalid"},
                "errors": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


def _record(error: Any, answer: Any, refused: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": "Record a signature the partner collected: one per person however the "
        "address is spelt; our confirmation email follows, unless the key is trusted "
        "(then it counts at once)",
        "security": KEY,
        "parameters": [SLUG],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/OsdiRecordSignature"}}
            },
        },
        "responses": {
            "202": answer("Recorded", {"$ref": "#/components/schemas/OsdiRecorded"}),
            "400": error("Not a JSON object with a person"),
            "403": error("The key may read only"),
            "404": error("No such petition"),
            "409": error("The petition is not taking signatures"),
            "413": error("Body too large"),
            "422": answer(
                "The person's details, refused field by field",
                {"$ref": "#/components/schemas/OsdiInvalid"},
            ),
            **refused,
        },
    }


def _collection(name: str, item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["total_pages", "per_page", "page", "total_records", "_links", "_embedded"],
        "properties": {
            "total_pages": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer"},
            "page": {"type": "integer"},
            "total_records": {"type": "integer", "minimum": 0},
            "_links": {
                "type": "object",
                "required": ["self"],
                "properties": {"self": LINK, "next": LINK, "prev": LINK},
            },
            "_embedded": {
                "type": "object",
                "required": [f"osdi:{name}"],
                "properties": {
                    f"osdi:{name}": {
                        "type": "array",
                        "items": {"$ref": f"#/components/schemas/{item}"},
                    }
                },
            },
        },
    }


def paths(error: Any) -> dict[str, Any]:
    """The OSDI paths; `error(description)` makes an error response as the rest of the API."""

    def answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "content": {HAL: {"schema": schema}}}

    refused = {
        "401": error("No partner API key, or one that is not (or no longer) valid"),
        "429": error("Too many requests"),
    }
    paged = {**refused, "400": error("page or per_page out of range")}
    return {
        "/api/osdi/v1/": {
            "get": {
                "summary": "OSDI API entry point",
                "security": KEY,
                "responses": {
                    "200": answer(
                        "Links to the resources", {"$ref": "#/components/schemas/OsdiEntryPoint"}
                    ),
                    **refused,
                },
            }
        },
        "/api/osdi/v1/petitions": {
            "get": {
                "summary": "The campaign's petitions, page by page (`_links.next`)",
                "security": KEY,
                "parameters": PAGING,
                "responses": {
                    "200": answer("A page of petitions", _collection("petitions", "OsdiPetition")),
                    **paged,
                },
            }
        },
        "/api/osdi/v1/petitions/{slug}": {
            "get": {
                "summary": "One petition",
                "security": KEY,
                "parameters": [SLUG],
                "responses": {
                    "200": answer("The petition", {"$ref": "#/components/schemas/OsdiPetition"}),
                    "404": error("No such petition"),
                    **refused,
                },
            }
        },
        "/api/osdi/v1/petitions/{slug}/record_signature_helper": {
            "post": _record(error, answer, refused),
        },
        "/api/osdi/v1/petitions/{slug}/signatures": {
            "post": _record(error, answer, refused),
            "get": {
                "summary": "The partner's own signers of a petition who said yes to its "
                "question (confirmed signatures only), oldest first; each read is audited",
                "security": KEY,
                "parameters": [SLUG, *PAGING],
                "responses": {
                    "200": answer(
                        "A page of signatures", _collection("signatures", "OsdiSignature")
                    ),
                    "404": error("No such petition"),
                    **paged,
                },
            },
        },
        "/api/osdi/v1/petitions/{slug}/signatures/{signature_id}": {
            "get": {
                "summary": "One of the partner's own signatures",
                "security": KEY,
                "parameters": [
                    SLUG,
                    {
                        "name": "signature_id",
                        "in": "path",
                        "required": True,
                        "schema": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": 9223372036854775807,
                        },
                    },
                ],
                "responses": {
                    "200": answer("The signature", {"$ref": "#/components/schemas/OsdiSignature"}),
                    "404": error("No such signature among the partner's"),
                    **refused,
                },
            }
        },
    }
