"""The app's kernel manager: jupyter_server's ``AsyncMappingKernelManager`` with a cap on running kernels.

Voila starts one kernel per page load (about 220 MB each). Idle and closed pages are culled by the
manager's own settings (``cull_idle_timeout``, ``cull_interval``, ``cull_connected``, set by
``server.voila_argv``); this class adds ``max_kernels``: a page load beyond it gets a short page saying
the app is busy instead of a new kernel, and ``closed_timeout``: a kernel with no page connected (the
page was closed or reloaded) goes after that, without waiting for the idle time. Voila is told to use it through its public
``VoilaConfiguration.multi_kernel_manager_class`` setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Integer

from .server import DEFAULT_MAX_KERNELS

BUSY = ("The readiness form is busy: {n} people have it open, the most this server allows. "
        "Please try again in a few minutes (a page left unused closes by itself).")


class CappedKernelManager(AsyncMappingKernelManager):
    """At most ``max_kernels`` kernels at once (counting kernels still starting)."""

    max_kernels = Integer(DEFAULT_MAX_KERNELS, config=True,
                          help="Most kernels running at once; a page load beyond it is refused (HTTP 503).")

    closed_timeout = Integer(60, config=True,
                             help="Seconds after which an idle kernel with no page connected is shut down (before "
                                  "cull_idle_timeout), checked every cull_interval.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.starting = 0          # kernels being started (not yet listed), so that parallel loads cannot overshoot

    async def start_kernel(self, *, kernel_id: str | None = None, path: str | None = None, **kwargs) -> str:
        if kernel_id is not None and kernel_id in self:
            return await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)
        running = len(self.list_kernel_ids()) + self.starting
        if running >= self.max_kernels:
            self.log.warning("kernel limit reached (%d of %d): page load refused", running, self.max_kernels)
            raise web.HTTPError(503, reason=BUSY.format(n=self.max_kernels))
        self.starting += 1
        try:
            return await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)
        finally:
            self.starting -= 1

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """A kernel whose page is closed goes after ``closed_timeout``; any other after the usual culling rules.
        (Voila's own shutdown when a page closes is refused by the server's XSRF check, voila#1458.)"""
        model = self.kernel_model(kernel_id)
        idle = datetime.now(UTC) - datetime.fromisoformat(model["last_activity"])
        if model["connections"] == 0 and model["execution_state"] == "idle" and idle > timedelta(
                seconds=self.closed_timeout):
            self.log.info("Stopping kernel %s: no page connected for %d s", kernel_id, idle.total_seconds())
            await self.shutdown_kernel(kernel_id)
            return
        await super().cull_kernel_if_idle(kernel_id)
