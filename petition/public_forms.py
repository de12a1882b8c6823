"""What the public forms are made of: fields read from a request, checked, and shown again.

Readers' forms (sign, confirm, ask for your data, donate) are small and sent on the hottest
paths there are, so they are built from these few classes rather than WTForms (which the admin
keeps): binding WTForms' fields for every request cost signing a tenth of its time. They keep
WTForms' rules where readers could notice them: a field's value is the first one sent, text is
trimmed, a checkbox is on unless sent as "" or "false", a required field must have been sent
non-empty (else its own message, and no other check runs), and each field's `validate_<name>`
method runs after its length check. Errors are listed in the order the fields were declared.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

_declared = itertools.count()
# NUL, the replacement character and lone surrogates: see PublicForm.
UNREADABLE = re.compile("[\x00\ufffd\ud800-\udfff]")


class ValidationError(ValueError):
    """Raised by a form's `validate_<name>` method: the message readers see by the field."""


@dataclass(frozen=True)
class Label:
    text: Any


class Input:
    """A field as declared on a form class: how to read it and its basic rules."""

    def __init__(
        self,
        label: Any = "",
        default: Any = None,
        required: Any = None,
        max_length: int | None = None,
        too_long: Any = None,
        strip: bool = True,
        checkbox: bool = False,
    ) -> None:
        self.label = Label(label)
        self.default = default
        self.required = required  # the message when it is missing
        self.max_length = max_length
        self.too_long = too_long
        self.strip = strip
        self.checkbox = checkbox
        self.order = next(_declared)

    def read(self, name: str, formdata: Mapping[str, Any] | None, data: Mapping[str, Any]) -> Field:
        value = data.get(name, self.default)
        raw: list[Any] | None = None
        if formdata is not None:
            raw = formdata.getlist(name) if name in formdata else []  # type: ignore[attr-defined]
            if self.checkbox:
                value = bool(raw) and raw[0] not in (False, "false", "")
            elif raw:
                value = raw[0]
        if self.checkbox:
            value = bool(value)
        elif self.strip and isinstance(value, str):
            value = value.strip()
        return Field(name, value, raw, self.label)

    def check(self, field: Field) -> bool:
        """The declared rules: sets the field's errors; False when it is missing, so nothing
        more is checked."""
        if self.required is not None and not (field.raw_data and field.raw_data[0]):
            field.errors = [self.required]
            return False
        too_long = self.max_length is not None and len(field.data or "") > self.max_length
        field.errors = [self.too_long] if too_long else []
        return True


def checkbox(label: Any = "") -> Input:
    return Input(label, checkbox=True)


def hidden() -> Input:
    return Input(strip=False)


class Field:
    """One field of one request's form: its name (its id on the page too), what it holds now,
    what was sent, and what is wrong with it."""

    __slots__ = ("name", "data", "raw_data", "errors", "label")

    def __init__(self, name: str, data: Any, raw_data: list[Any] | None, label: Label) -> None:
        self.name = name
        self.data = data
        self.raw_data = raw_data
        self.errors: list[Any] = []
        self.label = label

    @property
    def id(self) -> str:
        return self.name


class PublicForm:
    """A reader's form. Input that carries NUL bytes or bad UTF-8 is refused outright (400)."""

    inputs: ClassVar[tuple[tuple[str, Input], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found = {
            name: value
            for klass in reversed(cls.__mro__)
            for name, value in vars(klass).items()
            if isinstance(value, Input)
        }
        cls.inputs = tuple(sorted(found.items(), key=lambda item: item[1].order))

    def __init__(
        self, formdata: MultiDict[str, Any] | None = None, data: Mapping[str, Any] | None = None
    ) -> None:
        if formdata is not None:
            for value in formdata.values():
                # Werkzeug decodes invalid UTF-8 as U+FFFD; no reader types either character,
                # and a lone surrogate (from JSON's "\ud800") cannot be stored at all.
                if isinstance(value, str) and UNREADABLE.search(value):
                    raise BadRequest("The form contained characters we cannot read.")
        for name, declared in self.inputs:
            setattr(self, name, declared.read(name, formdata, data or {}))

    def __getitem__(self, name: str) -> Field:
        field = getattr(self, name, None)
        if not isinstance(field, Field):
            raise KeyError(name)
        return field

    def validate(self) -> bool:
        for name, declared in self.inputs:
            field: Field = getattr(self, name)
            more: Callable[[Field], None] | None = getattr(self, f"validate_{name}", None)
            if declared.check(field) and more is not None:
                try:
                    more(field)
                except ValidationError as exc:
                    field.errors.append(exc.args[0])
        return not self.errors

    @property
    def errors(self) -> dict[str, list[Any]]:
        """Each field's errors, for fields that have any, in the order they were declared."""
        return {name: self[name].errors for name, _ in self.inputs if self[name].errors}

    def error_messages(self) -> dict[str, str]:
        """The first message per field, in form order, for error summaries and JSON."""
        return {name: str(errors[0]) for name, errors in self.errors.items()}
