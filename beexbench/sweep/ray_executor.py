"""The `ray` executor: trainings on any CPU node, measuring cells on the nodes that offer
their target, over a Ray cluster (`ray` is imported only here, and only when chosen).

A node offers target T by advertising the custom resource `beexbench/T`, and a measuring
slot `beexbench/measure` of 1 (`ray start ... --resources '{"beexbench/arm": 1,
"beexbench/measure": 1}'`). A measuring cell asks for one unit of both, so a node runs one
measuring cell at a time, even one that offers several targets (a GPU machine measuring
cuda and cpu). Checkpoints travel through the
object store as tar bytes: the driver keeps a copy in its own cache (so a resumed sweep
never trains again) and ships it to every measuring node. Ray retries a cell whose worker
or node died (`max_retries`); a cell whose resource no live node offers is cancelled and
reported as unschedulable rather than left pending.
"""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

from beexbench.core.errors import UsageError
from beexbench.sweep.cells import CellSpec
from beexbench.sweep.executor import Events, Work
from beexbench.sweep.tarball import pack_dir, unpack_dir
from beexbench.train.loop import TrainRequest

RESOURCE_PREFIX = "beexbench/"
# One per node: every measuring cell holds it, so no two timings share a machine.
MEASURE_SLOT = f"{RESOURCE_PREFIX}measure"
POLL_S = 2.0  # how often a wait with nothing finished re-checks the live nodes
CONNECT_TIMEOUT_S = 5.0


def resource(target: str) -> str:
    """The Ray custom resource a node advertises to measure `target`."""
    return f"{RESOURCE_PREFIX}{target}"


def cell_needs(target: str) -> dict[str, float]:
    """The custom resources one measuring cell of `target` holds while it runs."""
    return {resource(target): 1.0, MEASURE_SLOT: 1.0}


def offered(targets: tuple[str, ...]) -> dict[str, int]:
    """What a node advertises to measure `targets`, one cell at a time."""
    return {**{resource(t): 1 for t in targets}, MEASURE_SLOT: 1}


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs the ray extra: pip install 'beexbench[ray]'") \
            from None
    return ray


def check_reachable(address: str) -> None:
    """Fail fast, in one line, when nothing listens at HOST:PORT (Ray would retry for long)."""
    if address == "auto":
        return  # the cluster this machine belongs to; ray.init reports its absence
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--address {address!r}: expected HOST:PORT (e.g. head:6379) or auto")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise UsageError(f"--address {address}: no Ray head reachable there "
                         f"({exc.strerror or exc})") from None


def _train_remote(request: TrainRequest, quiet: bool,
                  plugin_names: list[str]) -> tuple[dict, bytes]:
    from beexbench.core import plugins
    from beexbench.sweep.cells import train_checkpoint

    plugins.load(plugin_names)  # a worker starts bare: register the driver's plugins here too
    info = train_checkpoint(request, quiet)
    return info, pack_dir(request.checkpoint_dir())


def _measure_remote(spec: CellSpec, checkpoint: bytes, quiet: bool,
                    plugin_names: list[str]) -> dict:
    import ray

    from beexbench.core import plugins
    from beexbench.sweep.cells import measure_cell

    plugins.load(plugin_names)
    outcome = measure_cell(spec, checkpoint, quiet)
    return {**outcome, "node": ray.get_runtime_context().get_node_id()}


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None, retries: int, quiet: bool,
                 offer_here: tuple[str, ...] = ()) -> None:
        """Connect to the cluster at `address`, or (none given) start one on this machine
        that offers the targets in `offer_here`."""
        self.ray = import_ray()
        self.retries, self.quiet, self.started = retries, quiet, False
        if address:
            check_reachable(address)
        if self.ray.is_initialized():
            return  # a caller (a test, a notebook) already connected
        level = logging.ERROR if quiet else logging.WARNING
        try:
            if address:
                self.ray.init(address=address, log_to_driver=not quiet, logging_level=level)
            else:
                self.ray.init(resources=offered(offer_here),
                              include_dashboard=False, log_to_driver=not quiet,
                              logging_level=level)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UsageError(f"--address {address or '(local)'}: cannot connect to Ray "
                             f"({first})") from None
        self.started = True

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()

    # -- scheduling ------------------------------------------------------------------------
    def _alive_nodes(self) -> list[dict[str, float]]:
        return [n.get("Resources", {}) for n in self.ray.nodes() if n.get("Alive")]

    def _fits(self, needs: dict[str, float], nodes: list[dict[str, float]]) -> bool:
        return any(all(n.get(r, 0) >= q for r, q in needs.items()) for n in nodes)

    def unschedulable(self, targets: tuple[str, ...]) -> dict[str, str]:
        nodes = self._alive_nodes()
        return {t: _no_node(t) for t in targets if not self._fits(cell_needs(t), nodes)}

    def _reason(self, exc: BaseException) -> str:
        cause = getattr(exc, "cause", None) if isinstance(
            exc, self.ray.exceptions.RayTaskError) else None
        if isinstance(cause, UsageError):
            text = str(cause)
        elif cause is not None:
            text = f"{type(cause).__name__}: {cause}"
        else:
            text = f"{type(exc).__name__}: {exc}"
        lines = [line for line in text.strip().splitlines() if line.strip()]
        return lines[0] if lines else type(exc).__name__

    def _drain(self, pending: dict, done, fail) -> None:
        """Wait for every ref in `pending` (ref -> (key, resources it needs)); a task whose
        needs no live node meets any more is cancelled and failed as unschedulable."""
        ray = self.ray
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
            if not ready:
                nodes = self._alive_nodes()
                for ref, (key, needs) in list(pending.items()):
                    if not self._fits(needs, nodes):
                        ray.cancel(ref, force=True)
                        del pending[ref]
                        fail(key, f"unschedulable: no live Ray node offers "
                                  f"{json.dumps(needs, sort_keys=True)}", "unschedulable")
                continue
            for ref in ready:
                key, _ = pending.pop(ref)
                try:
                    value = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    fail(key, self._reason(exc), "failed")
                    continue
                done(key, value)

    def execute(self, work: Work, events: Events) -> None:
        from beexbench.core import plugins
        from beexbench.targets.environment import host

        ray = self.ray
        # Every node imports the driver's plugins (the same module names or paths must
        # resolve there, as the same beexbench and Ray versions must).
        plugin_names = plugins.loaded()
        train = ray.remote(num_returns=2)(_train_remote)
        measure = ray.remote(_measure_remote)
        shipped: dict = {}  # TrainJob -> ref of its checkpoint's tar bytes
        pending: dict = {}
        for job, request in work.requests.items():
            path = request.checkpoint_dir()
            if path.is_dir():  # in the driver's cache from an earlier run: ship that one
                shipped[job] = ray.put(pack_dir(path))
                events.trained(job, {"checkpoint": path.name, "trained": False, "host": host()})
                continue
            needs = {"CPU": float(request.preset_config().train_threads or 1)}
            info, payload = train.options(num_cpus=needs["CPU"], max_retries=self.retries,
                                          name=f"train {job.name}").remote(request, self.quiet,
                                                                           plugin_names)
            pending[info] = ((job, request, payload), needs)

        def trained(key: tuple, info: dict) -> None:
            job, request, payload = key
            path = request.checkpoint_dir()
            if not path.is_dir():
                unpack_dir(ray.get(payload), path)
            shipped[job] = payload
            events.trained(job, info)

        def training_failed(key: tuple, reason: str, state: str) -> None:
            events.training_failed(key[0], reason)

        self._drain(pending, trained, training_failed)

        for cell, spec in work.cells:
            if cell.job not in shipped:
                continue  # the driver reports it with its training's reason
            needs = {**cell_needs(cell.target), "CPU": 1.0}
            events.cell_started(cell)
            ref = measure.options(num_cpus=1, resources=cell_needs(cell.target),
                                  max_retries=self.retries, retry_exceptions=False,
                                  name=f"measure {cell.name}").remote(
                spec, shipped[cell.job], self.quiet, plugin_names)
            pending[ref] = (cell, needs)
        self._drain(pending, events.cell_done,
                    lambda cell, reason, state: events.cell_failed(cell, reason, state))


def _no_node(target: str) -> str:
    return (f"unschedulable: no Ray node offers target {target} with {MEASURE_SLOT} "
            f"(start one with "
            f"ray start --address HEAD:6379 --resources "
            f"'{json.dumps(offered((target,)))}')")
