"""Input hygiene: every string a client sends is checked here, before any resolver runs.

One rule for every String/ID argument, at any depth of input objects and lists, on both
databases: no character the database cannot store, no longer than the general cap
(``Settings.max_string_length``). A failure is ``BAD_USER_INPUT`` naming the argument
path (``input.name``, ``clipIds[2]``) in the message and in ``extensions.field``.

* Strings written in the document (arguments, variable defaults) are checked by a
  validation rule, so the validation cache keeps the verdict per document.
* Strings in variables are checked in ``on_execute``, once per request and only when
  there are variables: no per-field wrapping of resolvers.

Per-field limits (a profile name of 1 to 100 characters, ...) belong to the services
that own those fields; they are all below the general cap and run before any write.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from graphql import (
    ArgumentNode,
    GraphQLError,
    ListValueNode,
    Node,
    ObjectFieldNode,
    StringValueNode,
    ValidationRule,
    VariableDefinitionNode,
)
from strawberry.extensions import SchemaExtension

from editai.errors import BadUserInput
from editai.settings import Settings

# PostgreSQL text (UTF-8 database) stores every Unicode scalar value except U+0000; a
# lone surrogate (JSON "\ud800" decodes to one) is no scalar value and cannot even be
# encoded as UTF-8. SQLite would store both: refusing them here keeps both databases alike.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

PathKey = str | int


def string_problem(value: str, max_length: int) -> str | None:
    """What is wrong with ``value`` as an argument (to follow its path), or None."""
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    if value.isascii():  # O(1) in CPython; then NUL is the only character to look for
        return "must not contain U+0000 (NUL)" if "\x00" in value else None
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    code = ord(found.group())
    if code == 0:
        return "must not contain U+0000 (NUL)"
    return f"must not contain U+{code:04X} (a lone surrogate, not a character)"


def format_path(keys: Sequence[PathKey]) -> str:
    """``("input", "tags", 0)`` -> ``input.tags[0]`` (graphql-core's path notation)."""
    text = ""
    for key in keys:
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            text += f".{key}" if text else key
    return text


# A path as a linked list, (parent, key): O(1) to extend, spelled out only on a problem.
_Link = tuple[Any, PathKey] | None


def _keys(link: _Link) -> list[PathKey]:
    keys: list[PathKey] = []
    while link is not None:
        link, key = link
        keys.append(key)
    return keys[::-1]


def first_variable_problem(variables: dict[str, Any], max_length: int) -> tuple[str, str] | None:
    """(path, problem) of the first bad string in the variables, or None.

    Iterative: JSON nesting as deep as the parser accepts must not exhaust the stack.
    Object keys are not checked: graphql-core refuses any key that is not a field name.
    Values that are not JSON (an ``Upload``) are not strings and are left alone.
    """
    stack: list[tuple[Any, _Link]] = [
        (value, (None, name)) for name, value in reversed(variables.items())
    ]
    while stack:
        value, link = stack.pop()
        if isinstance(value, str):
            problem = string_problem(value, max_length)
            if problem is not None:
                return format_path(_keys(link)), problem
        elif isinstance(value, dict):
            stack.extend((v, (link, k)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((value[i], (link, i)) for i in range(len(value) - 1, -1, -1))
    return None


def _literal_path(node: Node, parent: Any, path: Sequence[PathKey], ancestors: Any) -> str:
    """The argument path of a string literal, from the visitor's ancestors.

    ``path[i]`` is the key of ``chain[i + 1]`` inside ``chain[i]``, so the index of a list
    item below ``chain[i]`` (a ListValueNode, whose ``values`` is ``chain[i + 1]``) is
    ``path[i + 1]``.
    """
    chain = [*ancestors, parent, node]
    keys: list[PathKey] = []
    for i, item in enumerate(chain):
        if isinstance(item, ArgumentNode | ObjectFieldNode):
            keys.append(item.name.value)
        elif isinstance(item, VariableDefinitionNode):
            keys.append(f"${item.variable.name.value}")
        elif isinstance(item, ListValueNode) and i + 1 < len(path):
            keys.append(path[i + 1])
    return format_path(keys)


class StringLiteralRule(ValidationRule):
    """Every string literal of the document; ``max_length`` is set by :func:`input_hygiene`."""

    max_length: ClassVar[int]

    def enter_string_value(
        self,
        node: StringValueNode,
        _key: Any,
        parent: Any,
        path: Sequence[PathKey],
        ancestors: Any,
    ) -> None:
        problem = string_problem(node.value, self.max_length)
        if problem is not None:
            where = _literal_path(node, parent, path, ancestors)
            self.report_error(
                GraphQLError(
                    f"{where} {problem}",
                    node,
                    extensions={"code": BadUserInput.code, "field": where},
                )
            )


class InputHygiene(SchemaExtension):
    """Adds the literal rule to validation and checks the variables before execution.

    Register it first among the extensions: a bad variable ends the operation in
    ``on_execute`` before any later extension's ``on_execute`` hook is entered.
    """

    def __init__(self, rule: type[StringLiteralRule], max_length: int) -> None:
        self.rule = rule
        self.max_length = max_length

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, self.rule)
        yield

    def on_execute(self) -> Iterator[None]:
        self.check_variables()
        yield

    def check_variables(self) -> None:
        variables = self.execution_context.variables
        if variables:
            found = first_variable_problem(variables, self.max_length)
            if found is not None:
                where, problem = found
                # Raised, not returned: strawberry turns an error raised in on_execute
                # into the operation's result on every path, subscriptions included.
                raise BadUserInput(f"{where} {problem}", field=where)


class HygieneFactory:
    """Builds InputHygiene per operation around one rule class (and its cap)."""

    def __init__(self, rule: type[StringLiteralRule], max_length: int) -> None:
        self.rule = rule
        self.max_length = max_length

    def __call__(self) -> InputHygiene:
        return InputHygiene(self.rule, self.max_length)


def input_hygiene(settings: Settings) -> HygieneFactory:
    """The extension factory for ``build_schema``.

    The rule class is built once here: the validation cache is keyed by the rule
    classes, so a class per request would never hit it. The cap never undercuts a
    per-field limit the settings configure (the voice-over text).
    """
    max_length = max(settings.max_string_length, settings.max_voiceover_characters)
    rule = type("StringLiteralRule", (StringLiteralRule,), {"max_length": max_length})
    return HygieneFactory(rule, max_length)
