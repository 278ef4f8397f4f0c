"""The document steps of every operation, in one schema extension.

These are the token limit, the parse (cached by text), the validation rules (depth,
aliases, introspection when it is off, and input hygiene's string-literal rule), the
validation (cached by document and rules), and before execution input hygiene's
variable check and the cost budget (graphql/query_cost.py), whose figure the answer
carries in ``extensions.cost`` when asked.

They did the same as five of strawberry's extensions: InputHygiene, MaxTokensLimiter,
ParserCache, AddValidationRules and ValidationCache, in that order. strawberry builds
every extension afresh for each operation and enters a generator per extension and
step, about 50 us per request for those five (issue 8). The order of the rules, so the
validation cache's keys and the order of the errors, is what it was.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import ASTValidationRule, parse

from editai.errors import BadUserInput
from editai.graphql.input_hygiene import InputHygiene, StringLiteralRule
from editai.graphql.query_cost import CostModel, operation_cost
from editai.metrics import observe_operation

CACHE_SIZE = 512  # distinct documents kept parsed, and validated
COST_HEADER = "x-query-cost"  # "report": the answer's extensions carry its cost


@dataclass(frozen=True)
class CostBudget:
    model: CostModel
    budget: int
    always_report: bool


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
        cost: CostBudget,
    ) -> None:
        super().__init__(hygiene_rule, max_string_length)
        self.max_tokens = max_tokens
        self.rules = tuple(rules)
        self.cost = cost
        self.parse = _parse_cache()
        self.validate = _validate_cache()
        self.operation_cost: int | None = None

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, self.rule, *self.rules)
        context.parse_options["max_tokens"] = self.max_tokens
        started = time.perf_counter()
        yield
        operation_type = "unknown" if context.graphql_document is None else _type_of(context)
        observe_operation(operation_type, context.operation_name, time.perf_counter() - started)

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

    def on_execute(self) -> Iterator[None]:
        self.check_variables()
        self.check_cost()
        yield

    def check_cost(self) -> None:
        context = self.execution_context
        if context.graphql_document is None:
            return
        cost = operation_cost(
            context.schema._schema,
            context.graphql_document,
            context.operation_name,
            context.variables,
            self.cost.model,
        )
        self.operation_cost = cost
        if cost is not None and cost > self.cost.budget:
            raise BadUserInput(
                f"Query cost {cost} exceeds the budget of {self.cost.budget}: ask for fewer "
                "items (smaller `first`, fewer nested lists)",
                cost=cost,
                budget=self.cost.budget,
            )

    def get_results(self) -> dict[str, Any]:
        if self.operation_cost is None or not self._report_asked():
            return {}
        return {"cost": self.operation_cost}

    def _report_asked(self) -> bool:
        if self.cost.always_report:
            return True
        request = getattr(self.execution_context.context, "request", None)
        headers = getattr(request, "headers", None)
        return headers is not None and headers.get(COST_HEADER, "").lower() == "report"


def _type_of(context: Any) -> str:
    try:
        return str(context.operation_type.value)
    except RuntimeError:  # no such operation, or several and no name: refused anyway
        return "unknown"
