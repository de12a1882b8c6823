"""The pieces readers' forms are made of (petition.public_forms): the rules they keep, which
readers would notice if they changed, checked on the sign form itself."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from petition.forms import SignatureForm

CLEAN = {
    "name": "  Ada Lovelace ",
    "email": "ada@example.org",
    "country": "GB",
    "postcode": "sw1a 1aa",
}


def form(app, **fields: object) -> SignatureForm:
    data = MultiDict({**CLEAN, **fields})
    with app.test_request_context():
        made = SignatureForm(data)
        made.validate()
        return made


def test_clean_input_passes_trimmed_and_tidied(app):
    made = form(app)
    assert made.errors == {}
    assert made.name.data == "Ada Lovelace" and made.postcode.data == "SW1A 1AA"
    assert made.consent_updates.data is False  # a checkbox not sent is off


def test_the_first_of_repeated_values_counts(app):
    data = MultiDict([*CLEAN.items()])
    data.setlist("name", ["Grace Hopper", "Ada Lovelace"])
    with app.test_request_context():
        made = SignatureForm(data)
        assert made.validate() and made.name.data == "Grace Hopper"


@pytest.mark.parametrize(("sent", "on"), [("y", True), ("on", True), ("", False), ("false", False)])
def test_a_checkbox_is_on_unless_sent_empty_or_false(app, sent, on):
    assert form(app, consent_updates=sent).consent_updates.data is on


def test_a_missing_field_says_so_and_nothing_else_is_checked(app):
    made = form(app, name="")
    assert made.errors == {"name": ["Enter your full name"]}
    assert form(app, name="Ada").errors == {}  # the same field, filled in


def test_a_field_can_fail_its_length_and_its_own_rule(app):
    made = form(app, name="x" * 101 + " http://example.org")
    first, *more = made.errors["name"]
    assert first == "Your name must be 100 characters or fewer" and more


def test_errors_come_in_the_order_the_fields_are_on_the_page(app):
    made = form(app, name="", email="not an address", country="XX", postcode="")
    assert list(made.errors) == ["name", "email", "country"]
    assert list(made.error_messages()) == ["name", "email", "country"]
    assert made["email"].id == "email"


def test_a_form_with_nothing_sent_shows_its_defaults(app):
    with app.test_request_context():
        made = SignatureForm()
        assert made.country.data == "GB" and made.name.data is None
        assert not made.validate() and "name" in made.errors
        assert SignatureForm(data={"name": "Ada"}).name.data == "Ada"


def test_unreadable_input_is_refused_before_any_field_is_read(app):
    with app.test_request_context(), pytest.raises(BadRequest):
        SignatureForm(MultiDict({**CLEAN, "name": "Ada\x00"}))
    with app.test_request_context():
        SignatureForm(MultiDict(CLEAN))  # the same form, clean
