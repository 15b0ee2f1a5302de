"""Release threshold for rare queries: a user-log query is published only if enough people issued it.

Removing ids is not enough (the 2006 AOL release): a query typed by one person can identify them.
Rows with any curated (public) source are exempt. Two rules:
- k-anonymity: keep a query issued by at least k distinct (pseudonymous) users.
- differential privacy: partition selection (python-dp's truncated geometric strategy) over
  per-user-capped user counts, with the published counts noised by python-dp's Laplace mechanism.
"""

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydp.algorithms.numerical_mechanisms import LaplaceMechanism
from pydp.algorithms.partition_selection import create_truncated_geometric_partition_strategy

from honkdata.config import DPConfig
from honkdata.errors import HonkdataError
from honkdata.stage import StageStats

# The stage's counters (manifest.json: stages.release); k and ε are in the manifest's config.
BELOW_K_USERS = "below_k_users"  # queries issued by fewer than k users (k-anonymity)
NOT_SELECTED_BY_DP = "not_selected_by_dp"  # queries DP partition selection left out
EVENTS_IN_REMOVED = "events_in_removed_queries"  # the events of the queries either rule removed


def _drop(table: pa.Table, keep: pa.Array, reason: str, stats: StageStats) -> pa.Table:
    removed = table.filter(pc.invert(keep))
    stats.drop(reason, removed.num_rows)
    stats.note(EVENTS_IN_REMOVED, pc.sum(removed.column("count")).as_py() or 0)
    return table.filter(keep)


def _released(table: pa.Table) -> pa.Table:
    """Nothing left to publish is the end of the build, said here rather than by an empty snapshot."""
    if table.num_rows == 0:
        raise HonkdataError("no rows left after the release threshold; no snapshot written")
    return table


@dataclass
class KAnonymity:
    """Table stage: drops user-log rows issued by fewer than k distinct users."""

    k: int
    name: str = "release"

    @property
    def rule(self) -> str:
        """The rule as the manifest states it."""
        return f"k-anonymity(k={self.k})"

    def __call__(self, table: pa.Table, stats: StageStats) -> pa.Table:
        stats.rows_in += table.num_rows
        if self.k > 1:  # k=1 is "off": it keeps even events that came without a user id
            keep = pc.or_(table.column("from_curated"), pc.greater_equal(table.column("n_users"), self.k))
            table = _drop(table, keep, BELOW_K_USERS, stats)
        stats.rows_out += table.num_rows
        return _released(table)


@dataclass
class DPRelease:
    """Table stage: (ε, δ)-DP partition selection and noised `count` / `n_users` for user-log rows.

    Needs the per-user-capped columns `capped_users` and `capped_events` (see ExactDedup). The
    budget is split evenly between selection, the event count and the user count.
    """

    config: DPConfig
    name: str = "release"

    @property
    def rule(self) -> str:
        """The rule as the manifest states it."""
        return f"dp(ε={self.config.epsilon}, δ={self.config.delta})"

    def __call__(self, table: pa.Table, stats: StageStats) -> pa.Table:
        stats.rows_in += table.num_rows
        eps = self.config.epsilon / 3
        queries, events = self.config.max_queries_per_user, self.config.max_events_per_query
        strategy = create_truncated_geometric_partition_strategy(eps, self.config.delta, queries)
        users = table.column("capped_users").to_numpy(zero_copy_only=False)
        curated = table.column("from_curated").to_numpy(zero_copy_only=False)
        keep = curated | np.array([strategy.should_keep(int(n)) for n in users], dtype=bool)
        count_noise = LaplaceMechanism(eps, float(queries * events))
        user_noise = LaplaceMechanism(eps, float(queries))
        capped_events = table.column("capped_events").to_numpy(zero_copy_only=False)
        count = table.column("count").to_numpy(zero_copy_only=False).copy()
        n_users = table.column("n_users").to_numpy(zero_copy_only=False).copy()
        for i in np.flatnonzero(keep & ~curated):
            count[i] = max(1, round(count_noise.add_noise(float(capped_events[i]))))
            n_users[i] = max(1, round(user_noise.add_noise(float(users[i]))))
        table = table.set_column(table.schema.get_field_index("count"), "count", pa.array(count, pa.int64()))
        table = table.set_column(
            table.schema.get_field_index("n_users"), "n_users", pa.array(n_users, pa.int64())
        )
        table = _drop(table, pa.array(keep), NOT_SELECTED_BY_DP, stats)
        stats.rows_out += table.num_rows
        return _released(table)
