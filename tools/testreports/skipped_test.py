"""The skipped-test summary, read from real pytest JUnit reports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tools.testreports.skipped import Skip, main, skips_under, summary


def pytest_report(tmp_path: Path, name: str, source: str) -> Path:
    """Runs pytest on `source` and returns the JUnit report it wrote, as Pants' pytest runner does."""
    module = tmp_path / f"{name}.py"
    module.write_text(textwrap.dedent(source))
    reports = tmp_path / "reports"
    reports.mkdir(exist_ok=True)
    report = reports / f"{name}.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(module),
            f"--junit-xml={report}",
        ],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    return report


def test_each_skip_is_listed_with_its_reason(tmp_path: Path) -> None:
    pytest_report(
        tmp_path,
        "needs_test",
        """
        import pytest

        def test_runs():
            pass

        @pytest.mark.skipif(True, reason="needs Docker")
        def test_image():
            pass

        def test_browser():
            pytest.skip("Chromium is not installed")
        """,
    )
    skips = skips_under(tmp_path / "reports")
    assert skips == [
        Skip("needs_test::test_image", "needs Docker"),
        Skip("needs_test::test_browser", "Chromium is not installed"),
    ]
    assert summary(skips).splitlines() == [
        "2 tests skipped (did not run):",
        "skipped: needs_test::test_image: needs Docker",
        "skipped: needs_test::test_browser: Chromium is not installed",
    ]


def test_a_module_skipped_whole_is_listed(tmp_path: Path) -> None:
    pytest_report(
        tmp_path,
        "whole_test",
        """
        import pytest

        pytest.skip("PostgreSQL is not installed", allow_module_level=True)

        def test_never():
            pass
        """,
    )
    skips = skips_under(tmp_path / "reports")
    assert len(skips) == 1
    assert skips[0].reason == "PostgreSQL is not installed"
    assert "whole_test" in skips[0].test


def test_a_run_without_skips_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest_report(tmp_path, "green_test", "def test_runs():\n    pass\n")
    assert main([str(tmp_path / "reports")]) == 0
    assert capsys.readouterr().err == ""


def test_an_unreadable_report_is_said(tmp_path: Path) -> None:
    (tmp_path / "broken.xml").write_text("<testsuites><testcase")
    (skip,) = skips_under(tmp_path)
    assert skip.test.endswith("broken.xml")
    assert "unreadable" in skip.reason
