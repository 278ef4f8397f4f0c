"""Resolver arguments settled at schema build (graphql/argument_types.py) resolve to
what strawberry itself resolves them to, under the names strawberry gives them."""

from __future__ import annotations

from strawberry.annotation import StrawberryAnnotation

from editai.graphql.argument_types import SettledAnnotation, _arguments
from editai.graphql.schema import build_schema


def test_every_argument_is_settled_to_strawberrys_own_type_and_name() -> None:
    schema = build_schema()
    converter = schema.config.name_converter
    arguments = _arguments(schema)
    assert len(arguments) > 20  # first/after/id/input ... of every domain
    for argument in arguments:
        annotation = argument.type_annotation
        assert isinstance(annotation, SettledAnnotation), argument.python_name
        fresh = StrawberryAnnotation(annotation.raw_annotation, namespace=annotation.namespace)
        assert annotation.resolve() == fresh.resolve(), argument.python_name
        assert argument.graphql_name == converter.apply_naming_config(argument.python_name)


def test_building_the_schema_again_changes_nothing() -> None:
    first = build_schema()
    types = {id(a): a.type for a in _arguments(first)}
    second = build_schema()
    assert second.as_str() == first.as_str()
    assert {id(a): a.type for a in _arguments(second)} == types
