"""The usage ledger's pure parts: records priced from the catalog, totals, budgets and their
words, and the /claude-usage blocks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.conversation.messages import (
    AnswerDone,
    ChatRequest,
    Question,
    StopReason,
    ThreadKey,
    Usage,
)
from bot.conversation.metering import planned_call
from bot.conversation.usage import BudgetVerdict, PlannedCall
from bot.slack.blocks.usage import usage_blocks, usage_text
from bot.usage.ledger_keys import day_of, last_days, month_of
from bot.usage.records import Totals, call_record, to_nanos
from bot.usage.report import Ranking, UsageReport
from bot.usage.spend_limits import (
    Budgets,
    HoldResult,
    call_estimate_usd,
    hold_verdict,
    money,
    next_day,
    next_month,
    reset_phrase,
    verdict,
)

NOW = datetime(2026, 10, 19, 18, 48, tzinfo=UTC)
QUESTION = Question(
    ThreadKey("T1", "C1", "1.0"), "U1", "hi", "1.0", False, "1.0", feature="ask-opus"
)
OPUS_USAGE = Usage(
    1000, 500, cache_read_tokens=4000, cache_write_5m_tokens=2000, cache_write_1h_tokens=3000
)


def _done(usage: Usage, model: str = "claude-opus-5-5") -> AnswerDone:
    return AnswerDone({"role": "assistant", "content": []}, StopReason.END, usage, model, "req_1")


def test_record_cost_matches_hand_computed_prices() -> None:
    """Opus 5.5: 1000 input at $4, 2000 5m-writes at $5, 3000 1h-writes at $8, 4000 reads at
    $0.20, 500 output at $20 per million — and the uncached baseline prices all 10,000 prompt
    tokens at $4."""
    record = call_record(QUESTION, _done(OPUS_USAGE), NOW)
    expected = (1000 * 4 + 2000 * 5 + 3000 * 8 + 4000 * 0.20 + 500 * 20) / 1e6
    assert record.cost_usd == pytest.approx(expected)
    assert record.cost_nanos == 48_800_000
    assert record.uncached_nanos == to_nanos((10_000 * 4 + 500 * 20) / 1e6)
    assert (record.team, record.channel, record.user, record.feature) == (
        "T1",
        "C1",
        "U1",
        "ask-opus",
    )
    assert record.priced


def test_stream_fields_keep_every_token_kind() -> None:
    """The stream entry carries each token count, the cost and the time."""
    fields = call_record(QUESTION, _done(OPUS_USAGE), NOW).stream_fields()
    assert fields["input"] == "1000"
    assert fields["cache_write_5m"] == "2000"
    assert fields["cache_write_1h"] == "3000"
    assert fields["cache_read"] == "4000"
    assert fields["output"] == "500"
    assert fields["cost_usd"] == "0.048800000"
    assert fields["at"] == NOW.isoformat()


def test_unknown_model_is_recorded_unpriced() -> None:
    """A model the catalog lacks is recorded with its tokens and no cost."""
    record = call_record(QUESTION, _done(OPUS_USAGE, "claude-future-9"), NOW)
    assert record.cost_nanos == 0
    assert not record.priced


def test_totals_add_up_and_compute_savings() -> None:
    """Totals of two calls sum every field; savings and the cache-read share follow."""
    one = Totals.of(call_record(QUESTION, _done(OPUS_USAGE), NOW))
    both = one + one
    assert both.calls == 2
    assert both.cache_read == 8000
    assert both.cache_read_share == pytest.approx(0.4)
    assert both.savings_usd == pytest.approx(2 * (0.05 - 0.0488))
    assert Totals.from_hash({b"calls": b"2", b"cache_read": b"8000"}).cache_read == 8000


def test_days_and_months_are_utc() -> None:
    """Keys use the UTC day and month; last_days counts back from today."""
    late = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    assert day_of(late) == "2026-10-31"
    assert month_of(late) == "2026-10"
    assert last_days(late, 2) == ["2026-10-31", "2026-10-30"]


def test_reset_times() -> None:
    """Daily budgets reset at midnight UTC, monthly ones on the first (December wraps)."""
    assert next_day(NOW) == datetime(2026, 10, 20, tzinfo=UTC)
    assert next_month(NOW) == datetime(2026, 11, 1, tzinfo=UTC)
    assert next_month(datetime(2026, 12, 5, tzinfo=UTC)) == datetime(2027, 1, 1, tzinfo=UTC)
    assert reset_phrase(next_day(NOW), NOW) == "at 00:00 UTC, in 5 h 12 min"
    assert reset_phrase(next_month(NOW), NOW) == "on 1 November at 00:00 UTC, in 12 days"


def test_money_is_readable() -> None:
    """Cents from a cent up, four decimals below."""
    assert money(1234.5) == "$1,234.50"
    assert money(0.0042) == "$0.0042"
    assert money(0) == "$0.00"


BUDGETS = Budgets(user_daily_usd=1.0, channel_monthly_usd=50.0)


def test_under_80_percent_is_allowed_silently() -> None:
    """Below the warning share nothing is said."""
    result = verdict(BUDGETS, user_today_usd=0.5, channel_month_usd=10, now=NOW)
    assert result.allowed
    assert not result.warning


def test_over_the_daily_budget_is_refused_with_the_reset_time() -> None:
    """At or over the user's daily budget: a polite refusal naming the budget and the reset."""
    result = verdict(BUDGETS, user_today_usd=1.0, channel_month_usd=10, now=NOW)
    assert not result.allowed
    assert "your daily Claude budget ($1.00) is used up" in result.message
    assert "resets at 00:00 UTC, in 5 h 12 min" in result.message


def test_over_the_channel_budget_is_refused_until_the_first() -> None:
    """A channel over its monthly budget refuses everyone there until the first of the month."""
    result = verdict(BUDGETS, user_today_usd=0, channel_month_usd=50.5, now=NOW)
    assert not result.allowed
    assert "this channel's monthly Claude budget ($50.00)" in result.message
    assert "on 1 November" in result.message


def test_warning_from_80_percent() -> None:
    """From 80 % the answer comes with a warning naming the share and the reset."""
    result = verdict(BUDGETS, user_today_usd=0.85, channel_month_usd=None, now=NOW)
    assert result.allowed
    assert "Your daily Claude budget is 85 % used ($0.85 of $1.00)" in result.warning


def test_no_channel_budget_in_a_dm() -> None:
    """channel_month_usd None (a DM) leaves the channel budget out."""
    result = verdict(BUDGETS, user_today_usd=0, channel_month_usd=None, now=NOW)
    assert result.allowed


def test_a_calls_estimate_is_its_input_and_whole_output_cap() -> None:
    """Sonnet 5.5: 10,000 input tokens at $2 and 8,192 output tokens at $10 per million; an
    unknown model is estimated at 0 (the ledger prices it at 0 too)."""
    planned = PlannedCall("claude-sonnet-5-5", 10_000, 8192)
    assert call_estimate_usd(planned) == pytest.approx((10_000 * 2 + 8192 * 10) / 1e6)
    assert call_estimate_usd(PlannedCall("claude-haiku-5-5", 10, 10**6)) == pytest.approx(
        (10 * 0.10 + 64_000 * 0.50) / 1e6
    ), "output capped at the model's maximum"
    assert call_estimate_usd(PlannedCall("claude-future-9", 10, 10)) == 0.0


def _held(outcome: str, user_spent: float, user_held: float = 0.0) -> HoldResult:
    return HoldResult(outcome, to_nanos(user_spent), to_nanos(user_held), 0, 0, 1)


def _hold_verdict(result: HoldResult, estimate: float = 0.09) -> BudgetVerdict:
    return hold_verdict(
        BUDGETS, result, estimate_usd=estimate, cap=3, hold_id="h", in_channel=False, now=NOW
    )


def test_an_estimate_that_does_not_fit_is_refused_with_what_is_left() -> None:
    """Spent $0.90 with $0.05 held by answers in progress: a $0.09 question is refused, naming
    the estimate, what is left, the budget and its reset."""
    result = _hold_verdict(_held("user", 0.90, 0.05))
    assert not result.allowed
    assert "this question could cost up to $0.09, and only $0.05 of your daily Claude " in (
        result.message
    )
    assert "budget ($1.00) is left once the answers in progress are paid for" in result.message
    assert "resets at 00:00 UTC, in 5 h 12 min" in result.message
    assert "used up" in _hold_verdict(_held("user", 1.0)).message


def test_a_held_estimate_is_allowed_with_its_hold_and_warning() -> None:
    """A hold that fits carries its id (to release) and the 80 % warning of the spend."""
    result = _hold_verdict(_held("ok", 0.85))
    assert (result.allowed, result.hold) == (True, "h")
    assert "85 % used" in result.warning


def test_too_many_answers_in_flight_is_a_polite_wait() -> None:
    """The cap's refusal says how many answers are on the way and what to do."""
    result = _hold_verdict(_held("cap", 0.0))
    assert not result.allowed
    assert result.message == (
        "Sorry, you already have 3 answers on the way, and I write at most 3 at a time for "
        "one person. Ask again when one of them has finished."
    )


def _report(user: str = "U1", admins: frozenset[str] = frozenset()) -> UsageReport:
    today = Totals(calls=3, cost_nanos=to_nanos(0.42), uncached_nanos=to_nanos(0.9))
    month = Totals(
        calls=40, cache_read=900, input=100, cost_nanos=to_nanos(4.2), uncached_nanos=to_nanos(9)
    )
    return UsageReport(
        user=user,
        channel="C1",
        now=NOW,
        today=today,
        month=month,
        budgets=Budgets(user_daily_usd=1.0, channel_monthly_usd=50.0, admins=admins),
        channel_month=Totals(calls=50, cost_nanos=to_nanos(12.5)),
        rankings=[
            Ranking("channel", 7, [("C1", 3.0), ("C2", 1.0)]),
            Ranking("user", 30, [("U1", 4.2)]),
            Ranking("model", 7, []),
        ]
        if admins
        else [],
    )


def _all_text(blocks: list[dict[str, object]]) -> str:
    return repr(blocks)


def test_usage_blocks_show_the_callers_numbers() -> None:
    """Today, this month, the daily budget with its share and reset, cache savings, and the
    channel's monthly budget; no admin section for a non-admin."""
    blocks = usage_blocks(_report())
    text = _all_text(blocks)
    assert "$0.42 · 3 calls" in text
    assert "$4.20 · 40 calls" in text
    assert "$0.42 of $1.00 (42 %); resets at 00:00 UTC, in 5 h 12 min" in text
    assert "$4.80 saved this month; 90 % of input tokens read from cache" in text
    assert "$12.50 of its $50.00 budget (25 %)" in text
    assert "admins only" not in text
    assert usage_text(_report()) == "Your Claude usage: today $0.42, this month $4.20."
    assert len(blocks) <= 50
    for block in blocks:
        assert len(block.get("fields", [])) <= 10


def test_admins_see_the_top_lists() -> None:
    """An admin's report adds the top channels, people and models, by window."""
    text = _all_text(usage_blocks(_report(admins=frozenset({"U1"}))))
    assert "Workspace (admins only)" in text
    assert "*Channels · 7 days*\\n1. <#C1> $3.00\\n2. <#C2> $1.00" in text
    assert "*People · 30 days*\\n1. <@U1> $4.20" in text
    assert "*Models · 7 days*\\n_Nothing yet._" in text
    assert "No limit (you are a bot admin)." in text


def test_web_searches_are_priced_counted_and_shown() -> None:
    """Three web searches cost $10 per 1,000 on top of the tokens (and in the uncached baseline,
    so cache savings stay token savings); the record and the totals count them and their cost;
    /claude-usage shows them with what they cost; web fetches are counted, not priced."""
    usage = Usage(1000, 500, web_search_requests=3, web_fetch_requests=2)
    record = call_record(QUESTION, _done(usage, "claude-sonnet-5-5"), NOW)
    tokens = (1000 * 2 + 500 * 10) / 1e6
    assert record.cost_usd == pytest.approx(tokens + 0.03)
    assert record.uncached_nanos == record.cost_nanos
    fields = record.stream_fields()
    assert (fields["web_searches"], fields["web_fetches"]) == ("3", "2")
    totals = Totals.of(record) + Totals.of(record)
    assert (totals.web_searches, totals.web_fetches) == (6, 4)
    assert totals.tool_usd == pytest.approx(0.06)
    report = _report()
    shown = UsageReport(**{**report.__dict__, "today": totals})
    assert "6 web searches ($0.06)" in _all_text(usage_blocks(shown))


def test_a_calls_estimate_counts_every_search_it_may_make() -> None:
    """With web search on, the estimate adds max_uses searches at $0.01 each."""
    plain = call_estimate_usd(PlannedCall("claude-sonnet-5-5", 10_000, 8192))
    searched = call_estimate_usd(PlannedCall("claude-sonnet-5-5", 10_000, 8192, 5))
    assert searched == pytest.approx(plain + 0.05)


def test_a_planned_call_with_web_search_may_make_max_uses_searches() -> None:
    """The turn's planned call counts the web search tool's max_uses; other tools add none."""
    tools = (
        {"type": "web_search_20260318", "name": "web_search", "max_uses": 5},
        {"type": "web_fetch_20260318", "name": "web_fetch", "max_uses": 3},
    )
    request = ChatRequest("claude-sonnet-5-5", "s", [], 8192, tools=tools)
    assert planned_call(request, 10_000) == PlannedCall("claude-sonnet-5-5", 10_000, 8192, 5)
    assert planned_call(replace(request, tools=tools[1:]), 10).max_web_searches == 0
