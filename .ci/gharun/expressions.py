"""GitHub Actions `${{ }}` expressions: the subset this repository's workflows use, evaluated as GitHub does.

Literals, property access (`github.event.pull_request.number`, `steps.x.outputs.y`), the
operators `! == != < <= > >= && ||` with GitHub's loose comparison, and the functions
`contains startsWith endsWith format join toJSON fromJSON hashFiles success always failure
cancelled`. Anything else raises `Unsupported`, which the runner reports with file and line
rather than guessing: a workflow that passes here must not lean on something never evaluated.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
STATUS_FUNCTIONS = ("success", "always", "failure", "cancelled")
_TOKEN = re.compile(
    r"\s*(?:(?P<number>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))"
    r"|(?P<string>'(?:[^']|'')*')"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\].,*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


class Unsupported(Exception):
    """An expression, function or context the runner does not implement."""


@dataclass
class Context:
    """What an expression can see: the contexts by name, the workspace for hashFiles, the job status."""

    contexts: Mapping[str, Any]
    workspace: Path
    job_status: str = "success"  # success | failure | cancelled
    extra_functions: dict[str, Callable[..., Any]] = field(default_factory=dict)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise Unsupported(f"cannot read expression at {text[position:position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "") or isinstance(value, dict | list)


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(int(value, 16)) if value.strip().lower().startswith("0x") else float(value or 0)
        except ValueError:
            return math.nan
    return math.nan


def _equal(left: Any, right: Any) -> bool:
    if type(left) is type(right) or (isinstance(left, int | float) and isinstance(right, int | float)):
        if isinstance(left, str):
            return left.lower() == right.lower()
        if isinstance(left, dict | list):
            return left is right
        return bool(left == right)
    if isinstance(left, dict | list) or isinstance(right, dict | list):
        return False
    return _number(left) == _number(right)


def _compare(left: Any, right: Any, op: str) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        a, b = left.lower(), right.lower()
    else:
        a, b = _number(left), _number(right)  # type: ignore[assignment]
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2)
    return str(value)


def hash_files(workspace: Path, *patterns: str) -> str:
    """GitHub's hashFiles: sha256 over the sha256 of each matching file, in path order; '' if none."""
    files: set[Path] = set()
    for pattern in patterns:
        if pattern.lstrip("!").startswith("/") or ".." in Path(pattern.lstrip("!")).parts:
            raise Unsupported(f"hashFiles({pattern!r}): patterns must stay inside the workspace")
        negate = pattern.startswith("!")
        matched = {p for p in workspace.glob(pattern.lstrip("!")) if p.is_file()}
        files = files - matched if negate else files | matched
    if not files:
        return ""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class _Parser:
    def __init__(self, text: str, context: Context) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.context = context

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise Unsupported(f"expected {value or 'more'} in expression")
        self.position += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise Unsupported(f"unexpected {self.peek()[1]!r} in expression")  # type: ignore[index]
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.equality()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.equality()
            value = right if truthy(value) else value
        return value

    def equality(self) -> Any:
        value = self.comparison()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            right = self.comparison()
            value = _equal(value, right) == (op == "==")
        return value

    def comparison(self) -> Any:
        value = self.unary()
        while self.peek() in (("op", "<"), ("op", "<="), ("op", ">"), ("op", ">=")):
            op = self.take()[1]
            value = _compare(value, self.unary(), op)
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix(self.primary())

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "number":
            return _number(text)
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if (kind, text) == ("op", "("):
            value = self.or_()
            self.take(")")
            return value
        if kind != "name":
            raise Unsupported(f"unexpected {text!r} in expression")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == ("op", "("):
            return self.call(text)
        if text not in self.context.contexts:
            raise Unsupported(f"context {text!r} is not provided by this runner")
        return self.context.contexts[text]

    def postfix(self, value: Any) -> Any:
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                kind, name = self.take()
                if kind != "name":
                    raise Unsupported("property name expected after '.'")
                value = _property(value, name)
            else:
                key = self.or_()
                self.take("]")
                value = _property(value, to_string(key) if not isinstance(value, list) else key)
        return value

    def call(self, name: str) -> Any:
        self.take("(")
        args: list[Any] = []
        while self.peek() != ("op", ")"):
            args.append(self.or_())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        return _call(name, args, self.context)


def _property(value: Any, name: Any) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).lower() == str(name).lower():
                return item
        return None
    if isinstance(value, list) and isinstance(name, int | float):
        index = int(name)
        return value[index] if 0 <= index < len(value) else None
    return None


def _call(name: str, args: list[Any], context: Context) -> Any:
    lowered = name.lower()
    status = context.job_status
    simple: dict[str, Callable[[], Any]] = {
        "success": lambda: status == "success",
        "always": lambda: True,
        "failure": lambda: status == "failure",
        "cancelled": lambda: status == "cancelled",
        "contains": lambda: (
            any(_equal(item, args[1]) for item in args[0])
            if isinstance(args[0], list)
            else to_string(args[1]).lower() in to_string(args[0]).lower()
        ),
        "startswith": lambda: to_string(args[0]).lower().startswith(to_string(args[1]).lower()),
        "endswith": lambda: to_string(args[0]).lower().endswith(to_string(args[1]).lower()),
        "format": lambda: re.sub(
            r"\{(\d+)\}", lambda m: to_string(args[int(m.group(1)) + 1]), to_string(args[0])
        )
        .replace("{{", "{")
        .replace("}}", "}"),
        "join": lambda: (args[1] if len(args) > 1 else ",").join(
            to_string(item) for item in (args[0] if isinstance(args[0], list) else [args[0]])
        ),
        "tojson": lambda: json.dumps(args[0], indent=2),
        "fromjson": lambda: json.loads(to_string(args[0])),
        "hashfiles": lambda: hash_files(context.workspace, *(to_string(a) for a in args)),
    }
    if lowered in context.extra_functions:
        return context.extra_functions[lowered](*args)
    if lowered not in simple:
        raise Unsupported(f"function {name}() is not implemented by this runner")
    try:
        return simple[lowered]()
    except (IndexError, TypeError, ValueError) as error:  # GitHub fails the expression, not the runner
        raise Unsupported(f"{name}() failed: {error}") from error


def evaluate(expression: str, context: Context) -> Any:
    """The value of one expression (the text inside `${{ }}`)."""
    return _Parser(expression, context).parse()


def interpolate(text: str, context: Context) -> str:
    """A string with every `${{ }}` replaced by its value, as GitHub substitutes before running."""
    return EXPRESSION.sub(lambda match: to_string(evaluate(match.group(1), context)), text)


def evaluate_value(text: str, context: Context) -> Any:
    """A value that is either a whole `${{ }}` expression (typed result) or a literal string."""
    whole = EXPRESSION.fullmatch(text.strip())
    return evaluate(whole.group(1), context) if whole else text


def condition(text: Any, context: Context) -> bool:
    """An `if:`: bare or wrapped, with GitHub's implicit `success() &&` unless a status function is named."""
    if isinstance(text, bool):
        return text and context.job_status == "success"
    source = str(text).strip()
    whole = EXPRESSION.fullmatch(source)
    expression = whole.group(1) if whole else source
    if EXPRESSION.search(expression):
        # GitHub reads such an `if:` as a non-empty string (always true); pasting values in and
        # evaluating would differ from it and let a PR title rewrite the condition.
        raise Unsupported("an if: that mixes ${{ }} with bare expression text is refused")
    names_status = any(re.search(rf"\b{fn}\s*\(", expression) for fn in STATUS_FUNCTIONS)
    if not names_status:
        expression = f"success() && ({expression})"
    return truthy(evaluate(expression, context))
