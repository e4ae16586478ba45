"""The usage ledger's entry for an ended batch: feature `batch`, at batch prices."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.batch.jobs import Job
from bot.batch.results import RowResult, batch_cost_usd, total_usage
from bot.claude.catalog import CATALOG
from bot.claude.cost import uncached_cost_usd
from bot.usage.ledger import RedisLedger
from bot.usage.records import CallRecord, to_nanos


class BatchUsage:
    """Records each ended batch in the usage ledger, as feature `batch`, at batch prices."""

    def __init__(self, ledger: RedisLedger) -> None:
        self._ledger = ledger

    async def __call__(self, job: Job, results: list[RowResult]) -> float:
        """Add one ledger entry for the batch's results; returns its cost in USD."""
        model = CATALOG.get(job.model)
        usage = total_usage(results)
        cost = batch_cost_usd(model, results)
        uncached = sum(uncached_cost_usd(model, r.usage) for r in results) / 2 if model else 0.0
        await self._ledger.add(
            CallRecord(
                team=job.team,
                channel=job.channel,
                user=job.owner,
                feature="batch",
                model=job.model,
                usage=usage,
                cost_nanos=to_nanos(cost),
                uncached_nanos=to_nanos(uncached),
                priced=model is not None,
                at=datetime.now(UTC),
            )
        )
        return cost
