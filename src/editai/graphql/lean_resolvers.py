"""Plain resolvers called directly, without strawberry's per-call argument machinery.

For every field with a resolver, strawberry's wrapper converts the arguments at each
call (``get_arguments``: each argument's type walked, names mapped), then chains the
field's extensions with ``functools.partial`` and ``reduce``, then calls the resolver.
For a resolver that has no extension, no exception handler, is not a coroutine and takes
only scalars (which strawberry passes through unchanged), all of that amounts to:
``resolver(source, info=Info(...), **arguments)``. A page calls such resolvers once per
row (``Project.clips(first:)``, ``Clip.durationSeconds``, ``Clip.downloadUrl``): for the
nested page of issue 8 strawberry's wrapper was about a twentieth of the request's CPU.

Those fields get that direct call (``lean_resolver``); every other field keeps
strawberry's. The call is the same call: arguments as graphql-core coerced them, renamed
to the resolver's parameters, ``info`` strawberry's own ``Info`` of the same field;
errors propagate to graphql-core exactly as through strawberry's wrapper (it adds nothing
to them when the schema has no exception handler).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLResolveInfo
from strawberry.types.base import StrawberryOptional
from strawberry.types.field import StrawberryField

from editai.graphql.schema_fields import fields_with_definitions

# Argument types strawberry hands to a resolver as graphql-core coerced them.
_PASSED_THROUGH: set[object] = {int, str, float, bool, strawberry.ID}


def lean_resolver(field: StrawberryField, info_class: type) -> Callable[..., Any] | None:
    """The direct call for ``field``, or None when strawberry's wrapper is needed."""
    resolver = field.base_resolver
    if resolver is None or field.is_async or field.extensions or field.is_subscription:
        return None
    if resolver.parent_parameter or resolver.root_parameter or not resolver.self_parameter:
        return None
    renames: dict[str, str] = {}
    for argument in field.arguments:
        argument_type = argument.type
        if isinstance(argument_type, StrawberryOptional):
            argument_type = argument_type.of_type
        if argument_type not in _PASSED_THROUGH or argument.graphql_name is None:
            return None
        renames[argument.graphql_name] = argument.python_name
    function = resolver.wrapped_func
    if isinstance(function, staticmethod | classmethod) or not callable(function):
        return None
    info_parameter = resolver.info_parameter
    info_name = info_parameter.name if info_parameter else None
    same_names = all(k == v for k, v in renames.items())

    def call_directly(source: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        if not same_names:
            kwargs = {renames[name]: value for name, value in kwargs.items()}
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=info, _field=field)
        return function(source, **kwargs)

    call_directly._is_default = False  # type: ignore[attr-defined]  # as strawberry marks its own
    return call_directly


def use_lean_resolvers(schema: strawberry.Schema) -> int:
    """Gives every eligible field of ``schema`` its direct call; the number of fields.

    Only when the schema has no exception handler (strawberry's wrapper would apply it).
    """
    converter = schema.schema_converter
    if getattr(converter, "_exception_handler_specs", ()):
        return 0
    info_class = schema.config.info_class
    changed = 0
    for field, definition in fields_with_definitions(schema):
        if hasattr(field.resolve, "strawberry_resolver"):
            continue  # already direct
        direct = lean_resolver(definition, info_class)
        if direct is not None:
            direct.strawberry_resolver = field.resolve  # type: ignore[attr-defined]  # kept for tests
            field.resolve = direct
            changed += 1
    return changed
