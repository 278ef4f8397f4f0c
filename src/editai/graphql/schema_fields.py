"""The schema's output fields with the strawberry fields they were built from."""

from __future__ import annotations

from collections.abc import Iterator

import strawberry
from graphql import GraphQLField, GraphQLInterfaceType, GraphQLObjectType
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


def fields_with_definitions(
    schema: strawberry.Schema,
) -> Iterator[tuple[GraphQLField, StrawberryField]]:
    """Every object and interface field of ``schema`` built from a strawberry field."""
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for field in graphql_type.fields.values():
            definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(definition, StrawberryField):
                yield field, definition
