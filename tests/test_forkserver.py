"""Kernels forked from the fork server behave like kernels started the usual way."""

import asyncio
import json
import os
import signal
import time

import pytest

from iwt_helpers import paths
from iwt_helpers.report import engine, forkserver, run_reports

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not forkserver.available(), reason="kernel fork server needs Linux")]

PROBE = ("import json as _j, os as _o, sys as _s, matplotlib as _m, gc as _g\n"
         "print(_j.dumps({'cwd': _o.getcwd(), 'path0': _s.path[0], 'argv0': _o.path.basename(_s.argv[0]),"
         " 'batch': _o.environ.get('IWT_BATCH'), 'backend': _m.get_backend(),"
         " 'pgid_is_pid': _o.getpgid(0) == _o.getpid(), 'gc': _g.isenabled(),"
         " 'user_names': sorted(k for k in get_ipython().user_ns if not k.startswith('_') and k not in ('In', 'Out', 'exit', 'quit', 'get_ipython', 'open'))}))")  # noqa: E501


def _server(preload: str = engine.WARM_IMPORTS) -> forkserver.ForkServer:
    return forkserver.ForkServer(preload, str(paths.NOTEBOOKS), engine.kernel_env(),
                                 forkserver.interpreter_of(engine.KERNEL_NAME))


async def _started(srv: forkserver.ForkServer) -> asyncio.Future:
    """Start the server and give it to workers as the runner does: a future of the server."""
    await srv.start()
    fut = asyncio.get_running_loop().create_future()
    fut.set_result(srv)
    return fut


async def _probe(fork: bool) -> tuple[dict, int]:
    """Start one kernel (forked or launched), prepare it as the runner does, and describe it."""
    srv = _server() if fork else None
    server = await _started(srv) if fork else None
    w = engine.Worker(server=server)
    try:
        await w.start(paths.NOTEBOOKS)
        assert w.forked is fork
        assert w.clean is not fork           # a forked kernel is always reset before its first report
        await w._reset(paths.NOTEBOOKS)      # compare both as a report finds them after a reset
        lines = []
        reply = await w.kc.execute_interactive(PROBE, timeout=60, output_hook=lambda m: lines.append(
            m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
        assert reply["content"]["status"] == "ok"
        pid = w.km.provisioner.pid
        return json.loads("".join(lines)), pid
    finally:
        await w.stop()
        if server is not None:
            await srv.stop()


def test_a_forked_kernel_looks_like_a_launched_one():
    forked, fpid = asyncio.run(_probe(fork=True))
    launched, _ = asyncio.run(_probe(fork=False))
    assert forked == launched
    assert forked["cwd"] == str(paths.NOTEBOOKS) and forked["batch"] == "1" and forked["gc"] is True
    assert "inline" in forked["backend"] and forked["pgid_is_pid"]
    assert forked["user_names"] == []
    # and it is gone once the worker has stopped it
    with pytest.raises(ProcessLookupError):
        os.kill(fpid, 0)


def test_kernels_exit_when_the_fork_server_dies():
    async def go():
        srv = _server()
        w = engine.Worker(server=await _started(srv))
        await w.start(paths.NOTEBOOKS)
        pid = w.km.provisioner.pid
        srv.proc.send_signal(signal.SIGKILL)           # the run dies without cleaning up
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.2)
        alive = True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            alive = False
        w.kc.stop_channels()
        if alive:
            os.kill(pid, signal.SIGKILL)
        srv.proc.wait()
        return alive

    assert asyncio.run(go()) is False, "an orphaned kernel kept running after its fork server died"


def test_reports_come_from_forked_kernels_and_the_switch_turns_it_off(tmp_path, monkeypatch):
    on = run_reports(icb="QOP", theme_spec="governance_metrics", out_dir=tmp_path / "on", jobs=1, progress=False)
    monkeypatch.setenv("IWT_FORKSERVER", "0")
    off = run_reports(icb="QOP", theme_spec="governance_metrics", out_dir=tmp_path / "off", jobs=1, progress=False)
    assert on.exit_code == off.exit_code == 0
    assert [r["kernel_forked"] for r in on.records] == [True]
    assert [r["kernel_forked"] for r in off.records] == [False]
    a = (tmp_path / "on" / "QOP" / "governance_metrics.html").read_text()
    b = (tmp_path / "off" / "QOP" / "governance_metrics.html").read_text()
    assert a == b


def test_warm_imports_cover_every_iwt_module_the_theme_notebooks_import():
    import ast
    import importlib.util

    import nbformat

    from iwt_helpers.report import kernel_setup, themes

    wanted = set()
    for nb_path in themes.discover().values():
        for cell in nbformat.read(nb_path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("iwt_helpers"):
                    for alias in node.names:        # from iwt_helpers.x import module, or a name of module x
                        sub = f"{node.module}.{alias.name}"
                        wanted.add(sub if importlib.util.find_spec(node.module).submodule_search_locations
                                   and importlib.util.find_spec(sub) else node.module)
    assert wanted, "no iwt imports found in the theme notebooks"
    missing = sorted(wanted - set(kernel_setup.WARM_MODULES))
    assert not missing, f"add to kernel_setup.WARM_MODULES: {missing}"


def test_a_fork_server_that_cannot_preload_leaves_kernels_to_start_the_usual_way():
    async def go():
        srv = _server("raise ImportError('no such module for this test')")
        task = asyncio.ensure_future(srv.start())
        w = engine.Worker(server=task)
        try:
            await w.start(paths.NOTEBOOKS)
            reply = await w.kc.execute_interactive("1 + 1", timeout=60, output_hook=lambda m: None)
            return w.forked, reply["content"]["status"], task.exception()
        finally:
            await w.stop()
            await srv.stop()

    forked, status, error = asyncio.run(go())
    assert forked is False and status == "ok"
    assert "preload failed" in str(error) and "no such module" in str(error)
