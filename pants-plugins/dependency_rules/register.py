"""`./pants lint` checks every target's dependencies against the BUILD files' dependency rules.

Pants 2.17's visibility backend enforces `__dependencies_rules__` only when a goal happens to compute
a target's dependencies (`check`, `test`, `package`), and its formatters and linters do not; this
linter computes them for every target it is given, so a rule violation fails `./pants lint ::`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pants.core.goals.lint import LintResult, LintTargetsRequest
from pants.core.util_rules.partitions import PartitionerType
from pants.engine.addresses import Addresses
from pants.engine.internals.dep_rules import DependencyRuleActionDeniedError
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import Dependencies, DependenciesRequest, FieldSet
from pants.option.option_types import SkipOption
from pants.option.subsystem import Subsystem


class DependencyRules(Subsystem):
    options_scope = "dependency-rules"
    name = "dependency-rules"
    help = "Checks every target's dependencies against the `__dependencies_rules__` in BUILD files."

    skip = SkipOption("lint")


@dataclass(frozen=True)
class DependencyRulesFieldSet(FieldSet):
    required_fields = (Dependencies,)

    dependencies: Dependencies


class DependencyRulesRequest(LintTargetsRequest):
    field_set_type = DependencyRulesFieldSet
    tool_subsystem = DependencyRules
    partitioner_type = PartitionerType.DEFAULT_SINGLE_PARTITION


@rule(desc="Check dependency rules")
async def check_dependency_rules(request: DependencyRulesRequest.Batch) -> LintResult:
    try:
        # Resolving a target's dependencies applies the rules and raises on a denied one.
        await MultiGet(
            Get(Addresses, DependenciesRequest(field_set.dependencies)) for field_set in request.elements
        )
    except DependencyRuleActionDeniedError as denied:
        return LintResult(1, "", f"{denied}\n", request.tool_name, request.partition_metadata.description)
    return LintResult(
        0,
        "",
        "",
        request.tool_name,
        request.partition_metadata.description,
    )


def rules() -> Iterable[Any]:
    return [*collect_rules(), *DependencyRulesRequest.rules()]
