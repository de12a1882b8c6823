"""The public API against its own OpenAPI document, with schemathesis generating the requests."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.test_widget import widget_token


@schemathesis.check
def no_server_error(ctx, response, case):
    """Never a 5xx, but for oEmbed's 501 for a format it does not offer (as its specification
    asks, and the document says)."""
    if case.path == "/oembed" and response.status_code == 501:
        return None
    return not_a_server_error(ctx, response, case)


# The contract: never a 5xx, and every answer is one the document describes, in the shape it
# describes. (Requests the document allows may still be refused, e.g. an unknown slug.)
CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def test_the_api_keeps_its_published_contract(app):
    """Every operation in the document, with generated requests, valid and not."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    token = widget_token(app.test_client())
    with app.app_context():
        from petition.services import partners
        from petition.services.audit import Actor

        partners.create("refugee-action", "Refugee Action", Actor("test"))
        key = partners.issue_key("refugee-action", Actor("test"), can_write=True).key
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=1500,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def check(case):
            if case.method == "POST" and isinstance(case.body, dict) and hash(repr(case.body)) % 2:
                # Half the time with a genuine token, so the rules behind it get exercised too.
                case.body["form_token"] = token
            if case.path.startswith("/api/osdi/") and hash(repr(case.query)) % 4:
                # Mostly with a partner's key, so more than the refusal gets exercised.
                case.headers = {**(case.headers or {}), "OSDI-API-Token": key}
            case.call_and_validate(checks=CHECKS)

        check()


def test_the_document_describes_every_public_endpoint(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    paths = set(document["paths"])
    assert {
        "/api/v1/petitions",
        "/api/v1/petitions/{slug}",
        "/api/v1/petitions/{slug}/signatures",
        "/api/v1/donations/summary",
        "/oembed",
        "/api/osdi/v1/",
        "/api/osdi/v1/petitions",
        "/api/osdi/v1/petitions/{slug}",
        "/api/osdi/v1/petitions/{slug}/signatures",
        "/api/osdi/v1/petitions/{slug}/signatures/{signature_id}",
        "/api/osdi/v1/petitions/{slug}/record_signature_helper",
    } <= paths
