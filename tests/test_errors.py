"""User errors are `IwtError`s and keep the builtin base callers catch; `iwt` prints them as one line and
exits 2, and lets anything else (a bug) raise with its traceback."""

import ast
import importlib
import signal
import sys

import pytest

from iwt_helpers import atomic, cli, paths
from iwt_helpers.errors import IwtError, WriteError
from tests import source_trees

pytestmark = pytest.mark.unit

PKG = paths.ROOT / "iwt_helpers"
# Exceptions that are not a user's to fix: a signal stopping a run (its own exit code) and the config
# package's validator signal, which pydantic turns into a ValidationError and the loader into a ConfigError.
NOT_USER_ERRORS = {"iwt_helpers.atomic.Interrupted", "iwt_helpers.config.base.Invalid",
                   "iwt_helpers.present.charts._Unkeyable"}    # a chart's inputs not compared by content: drawn, never raised to a user
# error class -> the builtin class callers caught before it was an IwtError (still caught)
SECOND_BASE = {
    "iwt_helpers.errors.ConfigError": ValueError,
    "iwt_helpers.errors.UsageError": ValueError,
    "iwt_helpers.errors.NotFoundError": FileNotFoundError,
    "iwt_helpers.errors.RefusedFolderError": ValueError,
    "iwt_helpers.errors.WriteError": OSError,
    "iwt_helpers.errors.MissingDataError": ValueError,
    "iwt_helpers.atomic.LockedError": RuntimeError,
    "iwt_helpers.atomic.InTheWayError": FileExistsError,
    "iwt_helpers.app.server.AppError": ValueError,
    "iwt_helpers.data.build.BuildError": ValueError,
    "iwt_helpers.data.datastore.NotADataFolderError": ValueError,
    "iwt_helpers.data.disclosure.MissingKeyError": ValueError,
    "iwt_helpers.data.disclosure.KeyFileExistsError": FileExistsError,
    "iwt_helpers.data.extracts.load.ExtractError": ValueError,
    "iwt_helpers.data.extracts.mapping.MappingError": ValueError,
    "iwt_helpers.data.geography.UnknownICBError": ValueError,
    "iwt_helpers.data.places.UnknownPlaceError": ValueError,
    "iwt_helpers.data.readiness_store.ResponsesError": ValueError,
    "iwt_helpers.data.schemas.TableValidationError": ValueError,
    "iwt_helpers.data.sources._read.SourceError": ValueError,
}


def module_name(path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def exception_classes() -> dict[str, str]:
    """Every class of the package that derives, by the names of its bases, from an exception:
    ``module.Class`` -> its module's file."""
    found = {}
    for path in sorted(PKG.rglob("*.py")):
        for node in ast.walk(source_trees.tree(path)):
            if isinstance(node, ast.ClassDef):
                bases = [b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in node.bases]
                if any(b.endswith(("Error", "Exception")) for b in bases):
                    found[f"{module_name(path)}.{node.name}"] = str(path)
    return found


def load(qualified: str) -> type:
    module, _, name = qualified.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_error_class_of_the_package_is_an_iwt_error_unless_it_is_listed_as_not_a_users():
    classes = exception_classes()
    assert set(SECOND_BASE) <= set(classes), "listed classes not found: " + ", ".join(sorted(set(SECOND_BASE) - set(classes)))
    wrong = sorted(c for c in classes if c not in NOT_USER_ERRORS and not issubclass(load(c), IwtError))
    assert not wrong, "error classes that are not IwtError (make them one, or list them as not a user's error): " + ", ".join(wrong)
    assert not any(issubclass(load(c), IwtError) for c in NOT_USER_ERRORS)


@pytest.mark.parametrize("qualified", sorted(SECOND_BASE))
def test_each_user_error_keeps_the_builtin_base_callers_catch(qualified):
    cls = load(qualified)
    assert issubclass(cls, IwtError) and issubclass(cls, SECOND_BASE[qualified])


def test_the_class_check_finds_an_error_class_that_is_not_an_iwt_error(tmp_path, monkeypatch):
    pkg = tmp_path / "iwt_helpers"
    pkg.mkdir()
    (pkg / "bad.py").write_text("class BadInputError(ValueError):\n    pass\n\nclass Fine:\n    pass\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", pkg)
    assert exception_classes() == {"iwt_helpers.bad.BadInputError": str(pkg / "bad.py")}


# --------------------------------------------------------------------------- the CLI


def stub(monkeypatch, exc: Exception) -> None:
    """`iwt list-icbs` raising ``exc`` (the parser looks its function up when it is built)."""
    def command(args):
        raise exc
    monkeypatch.setattr(cli, "_list_icbs", command)


def test_a_user_error_is_one_line_on_stderr_and_exit_code_2(monkeypatch, capsys):
    stub(monkeypatch, IwtError("--icb ZZZ: not one of the 42 ICBs"))
    assert cli.main(["list-icbs"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "iwt: error: --icb ZZZ: not one of the 42 ICBs\n"


@pytest.mark.parametrize("bug", [TypeError("unsupported operand"), ValueError("cannot reindex on an axis with duplicate labels"),
                                 KeyError("icb_code"), FileNotFoundError(2, "No such file or directory")])
def test_any_other_exception_is_not_caught_so_it_raises_with_its_traceback(monkeypatch, capsys, bug):
    stub(monkeypatch, bug)
    with pytest.raises(type(bug)) as raised:
        cli.main(["list-icbs"])
    assert raised.value is bug and "iwt: error" not in capsys.readouterr().err


def test_a_signal_still_exits_with_its_own_code(monkeypatch, capsys):
    stub(monkeypatch, atomic.Interrupted(signal.SIGTERM, "; 3 of 5 report(s) complete"))
    assert cli.main(["list-icbs"]) == 143
    assert capsys.readouterr().err == "iwt: stopped by SIGTERM; 3 of 5 report(s) complete\n"


def test_the_extract_commands_report_a_user_error_and_raise_a_bug(tmp_path, monkeypatch, capsys):
    from iwt_helpers.data.extracts import demo
    assert cli.main(["extract", "demo", "--records", "0", "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err == "iwt: error: --records must be at least 1\n" and not (tmp_path / "x").exists()

    def bug(*args, **kw):
        raise TypeError("write_demo() got an unexpected keyword argument")
    monkeypatch.setattr(demo, "write_demo", bug)
    with pytest.raises(TypeError):
        cli.main(["extract", "demo", "--out", str(tmp_path / "x")])


def test_the_app_command_reports_a_user_error_and_raises_a_bug(monkeypatch, capsys):
    from iwt_helpers.app import server
    monkeypatch.setattr(server, "serve", lambda **kw: (_ for _ in ()).throw(server.AppError("--port 80: expected 1024 to 65535")))
    assert cli.main(["app", "readiness"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "iwt app readiness: error: --port 80: expected 1024 to 65535\n"
    monkeypatch.setattr(server, "serve", lambda **kw: (_ for _ in ()).throw(TypeError("serve() missing an argument")))
    with pytest.raises(TypeError):
        cli.main(["app", "readiness"])


# --------------------------------------------------------------------------- writes the system refuses


def test_a_write_the_system_refuses_is_a_write_error_naming_the_file_not_its_temporary_name(tmp_path):
    (tmp_path / "a_file").write_text("x")
    dest = tmp_path / "a_file" / "out.csv"                 # its folder is a file
    with pytest.raises(WriteError) as raised:
        atomic.write_text(dest, "icb_code\n")
    assert isinstance(raised.value, OSError) and raised.value.filename == str(dest) and raised.value.errno
    assert str(raised.value) == f"{dest}: could not be written ({raised.value.strerror})"
    assert list(tmp_path.iterdir()) == [tmp_path / "a_file"]           # no temporary file left


def test_a_failed_rename_onto_a_folder_names_the_destination(tmp_path):
    (tmp_path / "data.html").mkdir()
    with pytest.raises(WriteError, match=r"data.html: could not be written \(Is a directory\)$") as raised:
        atomic.write_text(tmp_path / "data.html", "<html>")
    assert raised.value.filename == str(tmp_path / "data.html") and sorted(p.name for p in tmp_path.iterdir()) == ["data.html"]


def test_a_temporary_build_folder_the_system_refuses_is_a_write_error(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(WriteError, match="processed: could not be written"):
        atomic.temporary_folder(tmp_path / "a_file" / "processed", "build")
