"""The document steps of every operation, in one schema extension.

These are the token limit, the parse (cached by text), the validation rules (depth,
aliases, introspection when it is off, and input hygiene's string-literal rule), the
validation (cached by document and rules), and input hygiene's variable check before
execution.

They did the same as five of strawberry's extensions: InputHygiene, MaxTokensLimiter,
ParserCache, AddValidationRules and ValidationCache, in that order. strawberry builds
every extension afresh for each operation and enters a generator per extension and
step, about 50 us per request for those five (issue 8). The order of the rules, so the
validation cache's keys and the order of the errors, is what it was.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from graphql import ASTValidationRule, parse

from editai.graphql.input_hygiene import InputHygiene, StringLiteralRule

CACHE_SIZE = 512  # distinct documents kept parsed, and validated


@functools.cache
def _parse_cache() -> Callable[..., Any]:
    return functools.lru_cache(maxsize=CACHE_SIZE)(parse)


@functools.cache
def _validate_cache() -> Callable[..., Any]:
    # Imported here, as strawberry does: its schema module imports the extensions.
    from strawberry.schema.schema import validate_document

    return functools.lru_cache(maxsize=CACHE_SIZE)(validate_document)


class OperationSteps(InputHygiene):
    def __init__(
        self,
        hygiene_rule: type[StringLiteralRule],
        max_string_length: int,
        max_tokens: int,
        rules: Sequence[type[ASTValidationRule]],
    ) -> None:
        super().__init__(hygiene_rule, max_string_length)
        self.max_tokens = max_tokens
        self.rules = tuple(rules)
        self.parse = _parse_cache()
        self.validate = _validate_cache()

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, self.rule, *self.rules)
        context.parse_options["max_tokens"] = self.max_tokens
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = self.parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.pre_execution_errors = self.validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield
