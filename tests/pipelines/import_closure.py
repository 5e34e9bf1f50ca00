"""The first-party files a Python program loads, read from its import statements with ``ast``.

Pants infers a program's dependencies the same way (from its imports, plus the resources a BUILD
file names), so this is the closure `./pants dependencies --transitive` reports for the program's
own files. It is computed here, not asked of Pants, because it has to run inside a test sandbox,
where there is no repository for Pants to read and a nested Pants run would take minutes.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

FIRST_PARTY = ("agents", "libs")
# Files beside a module that it reads at run time: the agents' SQL (their `resources(name="sql")`).
RESOURCE_SUFFIXES = (".sql",)

Reader = Callable[[str], "str | None"]  # repository-relative path -> text, None when absent
Lister = Callable[[str], list[str]]  # repository-relative folder -> its files' paths
FolderTest = Callable[[str], bool]  # repository-relative path -> whether it is a folder


@dataclass
class Closure:
    files: set[str] = field(default_factory=set)
    # First-party modules imported but not found: the sources (or a pipeline-inputs target) lack them.
    unresolved: set[str] = field(default_factory=set)


def _is_first_party(module: str) -> bool:
    return module.split(".", 1)[0] in FIRST_PARTY


def _package_of(path: str) -> str:
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1])


def _imported_modules(tree: ast.AST, package: str) -> Iterator[str]:
    """Every module an import statement may load, anywhere in the file (functions included)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield module
            # `from libs.pipeline import export` may name a submodule rather than an attribute.
            yield from (f"{module}.{alias.name}" for alias in node.names if alias.name != "*")


@dataclass(frozen=True)
class SourceTree:
    read: Reader
    list_dir: Lister
    is_dir: FolderTest

    def module_file(self, module: str) -> str | None:
        """The file a module loads from; a namespace package (a folder without __init__) has none."""
        path = module.replace(".", "/")
        for candidate in (f"{path}.py", f"{path}/__init__.py"):
            if self.read(candidate) is not None:
                return candidate
        return None

    def is_namespace_package(self, module: str) -> bool:
        return self.is_dir(module.replace(".", "/"))

    def closure(self, entry: str) -> Closure:
        """Files loaded by running ``entry``: its modules, their packages' __init__ files, resources."""
        result = Closure()
        pending = [entry]
        while pending:
            path = pending.pop()
            if path in result.files:
                continue
            text = self.read(path)
            if text is None:
                result.unresolved.add(path)
                continue
            result.files.add(path)
            folder = path.rsplit("/", 1)[0]
            result.files.update(name for name in self.list_dir(folder) if name.endswith(RESOURCE_SUFFIXES))
            for module in _imported_modules(ast.parse(text, filename=path), _package_of(path)):
                if _is_first_party(module):
                    pending.extend(self._files_for(module, result))
        return result

    def _files_for(self, module: str, result: Closure) -> list[str]:
        """The module's file and each enclosing package's __init__.py, which Python runs first.

        The last part of a name from ``from package import name`` may be an attribute of a regular
        package or module, not a module: that is no miss. Anything else not found is.
        """
        parts = module.split(".")
        files: list[str] = []
        parent_is_module = False
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            found = self.module_file(name)
            if found is not None:
                files.append(found)
                parent_is_module = True
                continue
            if self.is_namespace_package(name):
                parent_is_module = False
                continue
            if not (depth == len(parts) and parent_is_module):
                result.unresolved.add(name)
            break
        return files
