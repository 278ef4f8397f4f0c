"""Mapping GraphQL input conventions onto the services'."""

from __future__ import annotations

import strawberry

from editai.validation import UNSET


def given(value: object) -> object:
    """A field left out of an input is UNSET for the services; an explicit null is None."""
    return UNSET if value is strawberry.UNSET else value
