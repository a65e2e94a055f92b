import subprocess
import sys

import pytest

from iwt_helpers import cli

pytestmark = pytest.mark.integration


def test_help_lists_the_commands(capsys):
    try:
        cli.main(["--help"])
    except SystemExit as e:
        assert e.code == 0
    out = capsys.readouterr().out
    for cmd in ("list-icbs", "data", "report"):
        assert cmd in out


def test_list_icbs_prints_42_rows_with_both_codes_and_region(capsys):
    assert cli.main(["list-icbs", "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "icb_code,icb_code_ons,icb_short_name,region_code,region_name"
    assert len(lines) == 43
    assert any(line.startswith("QOP,E54000057,Greater Manchester,Y62,North West") for line in lines)


def test_data_demo_twice_gives_identical_files(tmp_path, capsys):
    assert cli.main(["data", "demo", "--out", str(tmp_path / "a")]) == 0
    assert cli.main(["data", "demo", "--out", str(tmp_path / "b")]) == 0
    for p in (tmp_path / "a").iterdir():
        assert p.read_bytes() == (tmp_path / "b" / p.name).read_bytes()


def test_unknown_icb_on_the_command_line_is_an_error_not_a_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "iwt_helpers.cli", "report", "--icb", "../x", "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "Unknown ICB code '../x'" in r.stderr and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def run_iwt(code: str, *argv: str) -> subprocess.CompletedProcess:
    """`iwt ARGV` in a new process after ``code`` (which may replace a command) has run."""
    script = f"import sys\nfrom iwt_helpers import cli\n{code}\nsys.exit(cli.main({list(argv)!r}))"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)


def test_a_user_error_exits_2_with_one_clean_line_on_stderr(tmp_path):
    r = run_iwt("", "extract", "demo", "--records", "0", "--out", str(tmp_path / "x"))
    assert (r.returncode, r.stdout, r.stderr) == (2, "", "iwt: error: --records must be at least 1\n")


def test_a_programming_error_raises_with_its_traceback_and_exit_code_1():
    r = run_iwt("def bug(args):\n    raise TypeError('an internal bug')\ncli._list_icbs = bug", "list-icbs")
    assert r.returncode == 1 and r.stderr.startswith("Traceback (most recent call last):")
    assert r.stderr.rstrip().endswith("TypeError: an internal bug") and "iwt: error" not in r.stderr
    r = run_iwt("def bug(args):\n    raise ValueError('cannot reindex on an axis with duplicate labels')\ncli._list_icbs = bug", "list-icbs")
    assert r.returncode == 1 and "Traceback" in r.stderr and r.stderr.rstrip().endswith("ValueError: cannot reindex on an axis with duplicate labels")
