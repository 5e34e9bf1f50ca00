"""The first-party files a Python module loads, read from its import statements with ``ast``.

Pants infers a program's dependencies the same way (from its imports, plus the resources a BUILD
file names), so this is the closure `./pants dependencies --transitive` reports for the program's
own files. It is computed here rather than asked of Pants because it must also work where Pants
cannot run: inside a test sandbox, and inside a packaged pipeline program logging a model.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

FIRST_PARTY = ("agents", "libs")
# Files beside a module that it reads at run time: the agents' SQL (their `resources(name="sql")`).
SQL_RESOURCES = (".sql",)

Reader = Callable[[str], "str | None"]  # repository-relative path -> text, None when absent
Lister = Callable[[str], list[str]]  # repository-relative folder -> its files' paths
FolderTest = Callable[[str], bool]  # repository-relative path -> whether it is a folder


@dataclass
class Closure:
    files: set[str] = field(default_factory=set)
    # First-party modules imported but not found: the sources (or a pipeline-inputs target) lack them.
    unresolved: set[str] = field(default_factory=set)


def is_first_party(module: str) -> bool:
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

    @classmethod
    def on_disk(cls, root: Path) -> SourceTree:
        """The files under ``root``, addressed by paths relative to it."""

        def read(path: str) -> str | None:
            file = root / path
            return file.read_text(encoding="utf-8") if file.is_file() else None

        def list_dir(folder: str) -> list[str]:
            found = (root / folder).glob("*") if (root / folder).is_dir() else []
            return sorted(path.relative_to(root).as_posix() for path in found if path.is_file())

        return cls(read=read, list_dir=list_dir, is_dir=lambda folder: (root / folder).is_dir())

    def module_file(self, module: str) -> str | None:
        """The file a module loads from; a namespace package (a folder without __init__) has none."""
        path = module.replace(".", "/")
        for candidate in (f"{path}.py", f"{path}/__init__.py"):
            if self.read(candidate) is not None:
                return candidate
        return None

    def is_namespace_package(self, module: str) -> bool:
        return self.is_dir(module.replace(".", "/"))

    def closure(self, entry: str, *, resources: tuple[str, ...] = SQL_RESOURCES) -> Closure:
        """Files loaded by running ``entry``: its modules, their packages' __init__ files, and the
        files beside each module whose names end with one of ``resources``."""
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
            if resources:
                folder = path.rsplit("/", 1)[0]
                result.files.update(name for name in self.list_dir(folder) if name.endswith(resources))
            for module in _imported_modules(ast.parse(text, filename=path), _package_of(path)):
                if is_first_party(module):
                    pending.extend(self._files_for(module, result))
        return result

    def module_closure(self, module: str, *, resources: tuple[str, ...] = ()) -> Closure:
        """What importing ``module`` loads: its packages' __init__ files, itself, and its imports."""
        result = Closure()
        files = self._files_for(module, result)
        for file in files:
            found = self.closure(file, resources=resources)
            result.files |= found.files
            result.unresolved |= found.unresolved
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
