"""The local engine: the streaming part of a plan on this machine.

Batches flow from ingest through the batch stages into the grouping while the next one is read on a
second thread (`prefetch`: Arrow's readers release the GIL). Memory is bounded by a batch and the
grouping's spill limit, never by the number of events.
"""

import time

import pyarrow as pa

from honkdata.engine.plan import Plan
from honkdata.engine.prefetch import prefetch
from honkdata.progress import StageEvent, StageWatch
from honkdata.stage import StageStats


def run_local(plan: Plan, watch: StageWatch) -> tuple[pa.Table, dict[str, StageStats]]:
    """Ingest, the batch stages and the grouping of `plan`: the grouped rows and those stages' counters."""
    stats = {s.name: StageStats(s.name) for s in (plan.ingest, *plan.batch_stages, plan.grouping)}
    ingest, grouping = stats[plan.ingest.name], stats[plan.grouping.name]
    streamed = (*plan.batch_stages, plan.grouping)
    watch.emit(StageEvent(plan.ingest.name, inputs=plan.ingest.sizes))
    started = time.perf_counter()
    for batch in prefetch(plan.ingest(ingest)):
        for stage in plan.batch_stages:
            with stats[stage.name].timed():
                batch = stage(batch, stats[stage.name])
        with grouping.timed():
            plan.grouping.add(batch, grouping)
    # Reading overlapped the stages: what the loop spent outside them is ingest's own time.
    ingest.seconds = time.perf_counter() - started - sum(stats[s.name].seconds for s in streamed)
    plan.ingest.finish(ingest)
    for stage in (plan.ingest, *plan.batch_stages):
        watch.finished(stats[stage.name])
    with watch.timed(grouping):
        table = plan.grouping.finish(grouping)
    return table, stats
