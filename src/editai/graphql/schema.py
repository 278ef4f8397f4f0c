"""Assembles the domains' queries and mutations into one schema, with its guard rails."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from editai.analysis.mutations import AnalysisMutation
from editai.analysis.queries import AnalysisQuery
from editai.clips.mutations import ClipMutation
from editai.clips.queries import ClipQuery
from editai.costs.queries import CostQuery
from editai.graphql.argument_types import settle_argument_types
from editai.graphql.errors import ErrorShaping, log_errors
from editai.graphql.health import HealthQuery
from editai.graphql.input_hygiene import input_hygiene
from editai.graphql.lean_resolvers import use_lean_resolvers
from editai.graphql.operation_steps import CostBudget, OperationSteps
from editai.graphql.query_cost import CostModel
from editai.graphql.serial_execution import SerialMutationExecutionContext
from editai.jobs.mutations import JobMutation
from editai.jobs.queries import JobQuery
from editai.jobs.subscriptions import JobSubscription
from editai.profiles.mutations import ProfileMutation
from editai.profiles.queries import ProfileQuery
from editai.projects.mutations import ProjectMutation
from editai.projects.queries import ProjectQuery
from editai.publishing.mutations import PublishingMutation
from editai.publishing.queries import PublishingQuery
from editai.segments.mutations import SegmentMutation
from editai.settings import Settings
from editai.transcripts.mutations import TranscriptMutation
from editai.tts.mutations import TtsMutation
from editai.tts.queries import TtsQuery


@strawberry.type
class Query(
    HealthQuery,
    ProfileQuery,
    ProjectQuery,
    ClipQuery,
    JobQuery,
    CostQuery,
    TtsQuery,
    AnalysisQuery,
    PublishingQuery,
):
    pass


@strawberry.type
class Mutation(
    ProfileMutation,
    ProjectMutation,
    SegmentMutation,
    ClipMutation,
    JobMutation,
    TtsMutation,
    AnalysisMutation,
    PublishingMutation,
    TranscriptMutation,
):
    pass


@strawberry.type
class Subscription(JobSubscription):
    pass


class EditAISchema(strawberry.Schema):
    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        # A subscription streams over the WebSocket (graphql-transport-ws), where strawberry
        # subscribes it; sent by HTTP, strawberry would execute it as a query, whose root
        # field cannot answer (a masked INTERNAL_SERVER_ERROR). Refused instead, before it
        # runs: InvalidOperationTypeError, answered 400 BAD_USER_INPUT by the view.
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors)


def build_schema(settings: Settings | None = None) -> EditAISchema:
    settings = settings or Settings()
    # The limiters' rule classes are built once: the validation cache is keyed by the
    # rules, so fresh classes per request (what the limiter extensions do) never hit it.
    rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    if not settings.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    cost = CostBudget(
        CostModel(settings.query_cost_list_size, settings.max_page_size),
        settings.max_query_cost,
        settings.report_query_cost,
    )
    # Factories, not instances: strawberry builds fresh extensions per operation.
    hygiene = input_hygiene(settings)
    extensions: list[Any] = [
        # First: its variable check may end an operation in on_execute.
        lambda: OperationSteps(hygiene.rule, hygiene.max_length, settings.max_tokens, rules, cost),
    ]
    extensions.append(ErrorShaping)
    schema = EditAISchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=SerialMutationExecutionContext,
    )
    settle_argument_types(schema)
    use_lean_resolvers(schema)
    return schema


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"
