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
