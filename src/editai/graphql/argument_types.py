"""Resolver arguments' types and names settled once, when the schema is built.

strawberry converts a resolver's arguments at every call, and for each argument asks
again what its GraphQL name is (``NameConverter.apply_naming_config``) and what its type
is: ``StrawberryAnnotation.resolve`` caches the type, then walks it to see whether it is
generic before it looks at whether a generic type was asked about at all. For one
``clips(first: 5)`` per project, that was about 4 % of a nested page's CPU (issue 8's
profile). An argument whose type is not generic resolves to the same type for ever, and
its name never changes: both are settled here, and strawberry's conversion then finds
them at once. The schema is unchanged (the SDL is built before, from the same values).
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.annotation import StrawberryAnnotation
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import StrawberryType

from editai.graphql.schema_fields import fields_with_definitions


class SettledAnnotation(StrawberryAnnotation):
    """An annotation whose resolved type is known not to be generic: answered as is."""

    __slots__ = ("settled",)

    def __init__(self, original: StrawberryAnnotation, settled: StrawberryType | type) -> None:
        super().__init__(original.raw_annotation, namespace=original.namespace)
        self.settled = settled

    def resolve(self, *, type_definition: Any = None) -> StrawberryType | type:
        return self.settled


def settle_argument_types(schema: strawberry.Schema) -> int:
    """Settles every resolver argument of ``schema``; the number settled."""
    converter = schema.config.name_converter
    settled = 0
    for argument in _arguments(schema):
        if argument.graphql_name is None:
            argument.graphql_name = converter.from_argument(argument)
        annotation = argument.type_annotation
        if annotation is None or isinstance(annotation, SettledAnnotation):
            continue
        resolved = annotation.resolve()
        if StrawberryAnnotation._is_type_generic(resolved):
            continue  # resolved per parent type by strawberry: left to it
        argument.type_annotation = SettledAnnotation(annotation, resolved)
        settled += 1
    return settled


def _arguments(schema: strawberry.Schema) -> list[StrawberryArgument]:
    found: dict[int, StrawberryArgument] = {}
    for _, definition in fields_with_definitions(schema):
        for argument in definition.arguments:
            found[id(argument)] = argument
    return list(found.values())
