"""The ACD engine's rules, one behaviour per test: order of service, fairness across
queues, wrap-up, sticky callers, no-answer handling, overflow, max wait, empty queues,
operators changing state mid-call, ring guards, re-adoption and config reloads."""

from __future__ import annotations

import pytest
from acd_support import advance, config, engine, finished, logged_in, of_type, operator, pairs, queue, talk

from ari_app.config.model import ExitAction, MaxWait, Overflow as OverflowCfg, Strategy
from ari_app.core.acd import (
    Announce,
    AutoPause,
    CancelOffer,
    Connect,
    EngineError,
    Expire,
    Finished,
    NobodyOnShift,
    Offer,
    OperatorState,
    OperatorStatus,
    Outcome,
    Overflow,
)

READY = OperatorStatus.READY
PAUSED = OperatorStatus.PAUSED
RINGING = OperatorStatus.RINGING
ON_CALL = OperatorStatus.ON_CALL
WRAPUP = OperatorStatus.WRAPUP
LOGGED_OUT = OperatorStatus.LOGGED_OUT


def one_queue(*logins: str, **fields):
    return engine(config([queue("q", **fields)], [operator(login, ["q"]) for login in logins]))


def stats(eng, name: str):
    return next(s for s in eng.queue_stats() if s.name == name)


def staffed_paused(eng, login: str = "a") -> None:
    """Someone on shift but paused, so callers may join and wait."""
    eng.login(login, ready=False)


# ------------------------------------------------------------------ priority and FIFO


def test_given_callers_of_equal_priority_when_operators_free_up_then_they_are_served_first_come_first_served() -> None:
    eng, clock = one_queue("a", "b", wrapup=0)
    staffed_paused(eng)
    for i in range(3):
        eng.enqueue(f"c{i}", "q")
        clock.advance(1)

    assert eng.waiting("q") == ["c0", "c1", "c2"]
    assert pairs(eng.ready("a"), Offer) == [("c0", "a")]
    assert pairs(logged_in(eng, "b"), Offer) == [("c1", "b")]


def test_given_a_higher_priority_caller_arrives_later_when_an_operator_frees_up_then_it_is_served_first() -> None:
    eng, clock = one_queue("a")
    staffed_paused(eng)
    eng.enqueue("low1", "q")
    eng.enqueue("low2", "q")
    clock.advance(5)
    eng.enqueue("vip", "q", priority=5)
    eng.enqueue("mid", "q", priority=1)

    assert eng.waiting("q") == ["vip", "mid", "low1", "low2"]
    assert [eng.position(c) for c in ("vip", "mid", "low1", "low2")] == [1, 2, 3, 4]
    assert pairs(eng.ready("a"), Offer) == [("vip", "a")]


# ------------------------------------------------------------------ cross-queue fairness


def _two_queues(p1: int = 0, p2: int = 0, **defaults):
    cfg = config(
        [queue("q1", priority=p1), queue("q2", priority=p2)],
        [operator("a", ["q1", "q2"])],
        **defaults,
    )
    return engine(cfg)


def test_given_an_operator_in_two_queues_when_they_free_up_then_they_take_the_longest_waiting_caller_of_either() -> None:
    eng, clock = _two_queues()
    staffed_paused(eng)
    eng.enqueue("early", "q2")
    clock.advance(5)
    eng.enqueue("late", "q1")

    assert pairs(eng.ready("a"), Offer) == [("early", "a")]


@pytest.mark.parametrize(("head_start", "winner"), [(20, "high_q"), (40, "low_q")])
def test_given_queue_priority_when_an_operator_chooses_then_each_step_counts_as_priority_step_seconds(
    head_start: float, winner: str
) -> None:
    eng, clock = _two_queues(p1=1, p2=0)  # q1 is worth 30 s of waiting (default step)
    staffed_paused(eng)
    eng.enqueue("low_q", "q2")
    clock.advance(head_start)
    eng.enqueue("high_q", "q1")

    assert pairs(eng.ready("a"), Offer) == [(winner, "a")]


def test_given_a_custom_priority_step_when_an_operator_chooses_then_the_step_is_used() -> None:
    eng, clock = _two_queues(p1=1, p2=0, priority_step=100.0)
    staffed_paused(eng)
    eng.enqueue("low_q", "q2")
    clock.advance(60)
    eng.enqueue("high_q", "q1")

    assert pairs(eng.ready("a"), Offer) == [("high_q", "a")]


def test_given_caller_priority_and_queue_priority_then_caller_priority_wins() -> None:
    eng, clock = _two_queues(p1=5, p2=0)
    staffed_paused(eng)
    eng.enqueue("vip", "q2", priority=1)
    clock.advance(1)
    eng.enqueue("normal", "q1")

    assert pairs(eng.ready("a"), Offer) == [("vip", "a")]


# ------------------------------------------------------------------ wrap-up


def test_given_an_operator_in_wrapup_when_a_call_of_another_queue_arrives_then_it_waits_for_the_wrapup_end() -> None:
    cfg = config([queue("q1", wrapup=10), queue("q2", wrapup=60)], [operator("a", ["q1", "q2"])])
    eng, clock = engine(cfg)
    logged_in(eng, "a")
    eng.enqueue("c1", "q1")
    out = talk(eng, "c1", "a")
    assert OperatorState("a", WRAPUP) in out

    assert pairs(eng.enqueue("c2", "q2"), Offer) == []
    assert pairs(advance(eng, clock, 9.9), Offer) == []
    out = advance(eng, clock, 0.1)  # q1's wrap-up (of the call that ended) applies
    assert OperatorState("a", READY) in out
    assert pairs(out, Offer) == [("c2", "a")]


def test_given_an_operator_in_wrapup_when_they_save_the_disposition_then_they_take_the_next_call_at_once() -> None:
    eng, clock = one_queue("a", wrapup=60)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    talk(eng, "c1", "a")
    eng.enqueue("c2", "q")
    clock.advance(3)

    out = eng.wrapup_over("a")
    assert out[0] == OperatorState("a", READY)
    assert pairs(out, Offer) == [("c2", "a")]
    assert stats(eng, "q").handle_time == pytest.approx((180 * 5 + 3) / 6)  # talk 0 + wrap-up 3


def test_given_an_operator_not_in_wrapup_then_wrapup_over_changes_nothing() -> None:
    eng, clock = one_queue("a")
    assert eng.wrapup_over("a") == []
    logged_in(eng, "a")
    assert eng.wrapup_over("a") == []
    assert eng.operator_status("a") is READY


def test_given_wrapup_zero_when_the_call_ends_then_the_operator_is_ready_at_once() -> None:
    eng, clock = one_queue("a", wrapup=0)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.offer_answered("c1", "a")
    eng.enqueue("c2", "q")
    out = eng.call_ended("c1")

    assert out[0] == Finished("c1", "q", Outcome.COMPLETED)
    assert OperatorState("a", WRAPUP) not in out
    assert pairs(out, Offer) == [("c2", "a")]


# ------------------------------------------------------------------ sticky operator


def _sticky(window: float = 30.0):
    return one_queue("own", "other", sticky_window=window, wrapup=0)


def test_given_a_caller_with_an_own_operator_who_is_free_then_the_own_operator_gets_the_call() -> None:
    eng, clock = _sticky()
    logged_in(eng, "other")
    clock.advance(10)
    logged_in(eng, "own")  # other has been idle longer

    assert pairs(eng.enqueue("c1", "q", sticky="own"), Offer) == [("c1", "own")]


def test_given_the_own_operator_is_busy_when_the_window_ends_then_anyone_may_take_the_call() -> None:
    eng, clock = _sticky(window=30)
    logged_in(eng, "own")
    eng.enqueue("busy", "q")
    eng.offer_answered("busy", "own")
    logged_in(eng, "other")

    assert pairs(eng.enqueue("c1", "q", sticky="own"), Offer) == []
    assert pairs(advance(eng, clock, 29), Offer) == []
    assert pairs(advance(eng, clock, 1), Offer) == [("c1", "other")]


def test_given_the_own_operator_frees_up_within_the_window_then_they_get_their_caller() -> None:
    eng, clock = _sticky()
    logged_in(eng, "own")
    eng.enqueue("busy", "q")
    eng.offer_answered("busy", "own")
    eng.enqueue("c1", "q", sticky="own")
    eng.enqueue("c2", "q")  # waits behind c1, but c1 is own's caller anyway
    clock.advance(10)

    assert pairs(eng.call_ended("busy"), Offer) == [("c1", "own")]


def test_given_the_own_operator_is_logged_out_when_the_caller_arrives_then_anyone_takes_it_at_once() -> None:
    eng, clock = _sticky()
    logged_in(eng, "other")

    assert pairs(eng.enqueue("c1", "q", sticky="own"), Offer) == [("c1", "other")]


def test_given_a_caller_waits_for_the_own_operator_when_they_log_out_then_anyone_takes_it_at_once() -> None:
    eng, clock = _sticky()
    logged_in(eng, "own")
    eng.pause("own")
    logged_in(eng, "other")
    eng.enqueue("busy", "q")
    eng.offer_answered("busy", "other")
    eng.enqueue("c1", "q", sticky="own")
    eng.call_ended("busy")  # other is free, but c1 waits for own (paused, on shift)
    assert eng.offers("c1") == frozenset()

    out = eng.logout("own")
    assert pairs(out, Offer) == [("c1", "other")]


def test_given_a_caller_waits_for_the_own_operator_when_their_phone_unregisters_then_anyone_takes_it_at_once() -> None:
    eng, clock = _sticky()
    logged_in(eng, "own", "other")
    eng.pause("own")
    eng.enqueue("c1", "q", sticky="own")
    assert eng.offers("c1") == frozenset()

    out = eng.phone_registered("own", False)
    assert pairs(out, Offer) == [("c1", "other")]


def test_given_the_own_operator_misses_the_call_then_the_window_ends_and_the_next_operator_rings_at_once() -> None:
    eng, clock = _sticky(window=300)
    logged_in(eng, "own", "other")
    eng.enqueue("c1", "q", sticky="own")

    out = eng.offer_not_answered("c1", "own")
    assert pairs(out, Offer) == [("c1", "other")]


def test_given_the_own_operator_rejects_the_call_then_the_next_operator_rings_at_once() -> None:
    eng, clock = _sticky(window=300)
    logged_in(eng, "own", "other")
    eng.enqueue("c1", "q", sticky="own")

    out = eng.offer_not_answered("c1", "own", rejected=True)
    assert pairs(out, Offer) == [("c1", "other")]


def test_given_an_unknown_own_operator_then_the_caller_is_treated_as_anyone_s() -> None:
    eng, clock = _sticky()
    logged_in(eng, "other")

    assert pairs(eng.enqueue("c1", "q", sticky="nobody-by-that-name"), Offer) == [("c1", "other")]


# ------------------------------------------------------------------ no answer


def test_given_an_operator_lets_it_ring_out_then_the_next_operator_rings_at_once_and_the_call_keeps_its_place() -> None:
    eng, clock = one_queue("a", "b", "c")
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.enqueue("c2", "q")  # behind c1
    logged_in(eng, "b", ready=False)
    clock.advance(15)

    out = eng.offer_not_answered("c1", "a")
    assert pairs(out, Offer) == [("c2", "a")]  # nobody else for c1; a takes the next caller
    assert eng.waiting("q") == ["c1", "c2"]
    assert eng.position("c1") == 1
    assert pairs(eng.ready("b"), Offer) == [("c1", "b")]


def test_given_two_free_operators_when_the_first_misses_then_the_second_rings_in_the_same_step() -> None:
    eng, clock = one_queue("a", "b")
    logged_in(eng, "a", "b")
    eng.enqueue("c1", "q")

    out = eng.offer_not_answered("c1", "a")
    assert pairs(out, Offer) == [("c1", "b")]
    assert eng.operator_status("a") is READY


def test_given_an_operator_missed_a_call_then_it_is_not_offered_to_them_again_before_ring_timeout() -> None:
    eng, clock = one_queue("a", ring_timeout=15)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    clock.advance(15)
    assert eng.offer_not_answered("c1", "a") == []

    assert pairs(advance(eng, clock, 14.9), Offer) == []
    assert pairs(advance(eng, clock, 0.1), Offer) == [("c1", "a")]  # the skip expired


def test_given_auto_pause_after_two_when_an_operator_misses_twice_in_a_row_then_they_are_paused() -> None:
    eng, clock = one_queue("a", auto_pause_after=2, ring_timeout=10)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    assert of_type(eng.offer_not_answered("c1", "a"), AutoPause) == []
    advance(eng, clock, 10)  # offered again after the skip
    assert eng.offers("c1") == {"a"}

    out = eng.offer_not_answered("c1", "a")
    reason = "missed 2 calls in a row"
    assert of_type(out, AutoPause) == [AutoPause("a", reason)]
    assert OperatorState("a", PAUSED, reason) in out
    assert eng.operator_status("a") is PAUSED
    assert pairs(advance(eng, clock, 60), Offer) == []


def test_given_an_operator_rejects_calls_then_rejections_do_not_count_towards_auto_pause() -> None:
    eng, clock = one_queue("a", auto_pause_after=2, ring_timeout=10)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    for _ in range(5):
        assert eng.offers("c1") == {"a"}
        assert of_type(eng.offer_not_answered("c1", "a", rejected=True), AutoPause) == []
        advance(eng, clock, 10)

    assert eng.operator_status("a") is RINGING


def test_given_misses_left_standing_by_a_more_lenient_queue_when_the_operator_rejects_then_they_are_not_paused() -> None:
    cfg = config(
        [queue("strict", auto_pause_after=2), queue("lenient", auto_pause_after=3)],
        [operator("a", ["strict", "lenient"])],
    )
    eng, clock = engine(cfg)
    logged_in(eng, "a")
    for cid in ("l1", "l2"):
        eng.enqueue(cid, "lenient")
        eng.offer_not_answered(cid, "a")  # two misses: below lenient's limit
        eng.remove(cid)
    eng.enqueue("s1", "strict")

    assert of_type(eng.offer_not_answered("s1", "a", rejected=True), AutoPause) == []
    assert eng.operator_status("a") is READY
    advance(eng, clock, 15)
    out = eng.offer_not_answered("s1", "a")  # a third miss in a row: strict's limit is passed
    assert of_type(out, AutoPause) == [AutoPause("a", "missed 3 calls in a row")]


def test_given_an_answer_between_two_misses_then_the_count_starts_over() -> None:
    eng, clock = one_queue("a", auto_pause_after=2, wrapup=0)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.offer_not_answered("c1", "a")
    eng.enqueue("c2", "q")
    talk(eng, "c2", "a")  # answered: misses reset
    advance(eng, clock, 15)
    assert eng.offers("c1") == {"a"}

    assert of_type(eng.offer_not_answered("c1", "a"), AutoPause) == []
    assert eng.operator_status("a") is READY


def test_given_auto_pause_after_zero_then_misses_never_pause() -> None:
    eng, clock = one_queue("a", auto_pause_after=0, ring_timeout=5)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    for _ in range(6):
        assert of_type(eng.offer_not_answered("c1", "a"), AutoPause) == []
        advance(eng, clock, 5)
    assert eng.operator_status("a") is RINGING


def test_given_a_rejection_then_the_next_operator_rings_at_once_and_the_rejecting_one_is_skipped() -> None:
    eng, clock = one_queue("a", "b")
    logged_in(eng, "a", "b")
    eng.enqueue("c1", "q")

    out = eng.offer_not_answered("c1", "a", rejected=True)
    assert pairs(out, Offer) == [("c1", "b")]
    eng.offer_not_answered("c1", "b", rejected=True)
    assert eng.offers("c1") == frozenset()  # both skipped for now


def test_given_a_failed_originate_then_the_phone_is_marked_unregistered_and_gets_no_more_calls() -> None:
    eng, clock = one_queue("a", "b")
    logged_in(eng, "a", "b")
    eng.enqueue("c1", "q")

    out = eng.offer_not_answered("c1", "a", failed=True)
    assert pairs(out, Offer) == [("c1", "b")]
    assert stats(eng, "q").staffed == 1
    assert stats(eng, "q").available == 0
    assert pairs(eng.enqueue("c2", "q"), Offer) == []  # a is READY but unreachable
    assert pairs(eng.phone_registered("a", True), Offer) == [("c2", "a")]


def test_given_failed_originates_then_they_never_count_as_misses() -> None:
    eng, clock = one_queue("a", auto_pause_after=2, ring_timeout=5, leave_when_empty=False)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.phone_registered("a", False)  # AMI noticed first: a still rings c1 on paper
    assert eng.offer_not_answered("c1", "a", failed=True) == []
    assert eng.operator_status("a") is READY

    eng.phone_registered("a", True)
    advance(eng, clock, 5)
    assert eng.offers("c1") == {"a"}
    out = eng.offer_not_answered("c1", "a")  # the first real miss
    assert of_type(out, AutoPause) == []
    assert eng.operator_status("a") is READY


def test_given_the_last_operator_s_originate_fails_then_the_callers_of_a_leave_when_empty_queue_leave() -> None:
    eng, clock = one_queue("a")
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.enqueue("c2", "q")

    out = eng.offer_not_answered("c1", "a", failed=True)
    assert finished(out) == {"c1": Outcome.NOBODY_ON_SHIFT, "c2": Outcome.NOBODY_ON_SHIFT}
    assert eng.live_calls == 0


def test_given_the_ringing_operator_s_phone_unregisters_when_the_ring_then_fails_then_the_caller_does_not_stay_in_an_empty_queue() -> None:
    eng, clock = one_queue("a")
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    assert eng.phone_registered("a", False) == []  # c1 still rings a

    out = eng.offer_not_answered("c1", "a")
    assert of_type(out, NobodyOnShift) == [NobodyOnShift("c1", "q", ExitAction.HANGUP)]
    assert finished(out) == {"c1": Outcome.NOBODY_ON_SHIFT}


# ------------------------------------------------------------------ overflow and max wait


def test_given_an_overflow_threshold_when_a_caller_waits_past_it_then_backup_numbers_ring_once() -> None:
    ov = OverflowCfg(after=30, numbers=("+74950000001", "+74950000002"), trunk="main")
    eng, clock = one_queue("a", overflow=ov)
    staffed_paused(eng)
    eng.enqueue("c1", "q")

    assert of_type(advance(eng, clock, 29), Overflow) == []
    assert of_type(advance(eng, clock, 1), Overflow) == [Overflow("c1", "q", ov.numbers, "main")]
    assert of_type(advance(eng, clock, 600), Overflow) == []
    assert eng.position("c1") == 1  # still waiting for an operator too

    out = eng.overflow_answered("c1")
    assert out == [Finished("c1", "q", Outcome.OVERFLOWED)]
    assert eng.live_calls == 0


def test_given_a_caller_answered_before_the_threshold_then_nothing_overflows() -> None:
    eng, clock = one_queue("a", overflow=OverflowCfg(after=30, numbers=("+1",)))
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.offer_answered("c1", "a")

    assert of_type(advance(eng, clock, 100), Overflow) == []


def test_given_max_wait_when_a_caller_waits_that_long_then_it_expires_through_the_exit_action() -> None:
    mw = MaxWait(after=60, action=ExitAction.TRANSFER, number="+74950000009")
    eng, clock = one_queue("a", max_wait=mw)
    staffed_paused(eng)
    eng.enqueue("c1", "q")

    assert advance(eng, clock, 59) == []
    out = advance(eng, clock, 1)
    assert out == [Expire("c1", "q", ExitAction.TRANSFER, "+74950000009"), Finished("c1", "q", Outcome.EXPIRED)]
    assert eng.waiting("q") == []


def test_given_max_wait_when_the_caller_is_ringing_an_operator_then_the_ring_is_cancelled_and_the_operator_freed() -> None:
    eng, clock = one_queue("a", max_wait=MaxWait(after=10), ring_timeout=30)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")

    out = advance(eng, clock, 10)
    assert out == [
        Expire("c1", "q", ExitAction.VOICEMAIL, None),
        CancelOffer("c1", "a", "max wait reached"),
        Finished("c1", "q", Outcome.EXPIRED),
    ]
    assert eng.operator_status("a") is READY


# ------------------------------------------------------------------ empty queues


def test_given_nobody_logged_in_and_join_empty_off_when_a_caller_arrives_then_nobody_on_shift() -> None:
    eng, clock = one_queue("a", empty_action=ExitAction.VOICEMAIL)

    out = eng.enqueue("c1", "q")
    assert out == [NobodyOnShift("c1", "q", ExitAction.VOICEMAIL), Finished("c1", "q", Outcome.NOBODY_ON_SHIFT)]
    assert eng.live_calls == 0


def test_given_operators_logged_in_but_paused_then_callers_may_join() -> None:
    eng, clock = one_queue("a")
    staffed_paused(eng)

    assert eng.enqueue("c1", "q") == []
    assert eng.waiting("q") == ["c1"]


def test_given_join_empty_when_nobody_is_logged_in_then_the_caller_waits_and_hears_no_estimate() -> None:
    eng, clock = one_queue("a", join_empty=True, announce_every=20)

    out = eng.enqueue("c1", "q")
    assert out == [Announce("c1", "q", 1, None, "en")]
    assert pairs(logged_in(eng, "a"), Offer) == [("c1", "a")]


def test_given_leave_when_empty_when_the_last_operator_logs_out_then_waiting_callers_leave() -> None:
    eng, clock = one_queue("a", empty_action=ExitAction.CALLBACK)
    staffed_paused(eng)
    eng.enqueue("c1", "q")
    eng.enqueue("c2", "q")

    out = eng.logout("a")
    assert of_type(out, NobodyOnShift) == [
        NobodyOnShift("c1", "q", ExitAction.CALLBACK),
        NobodyOnShift("c2", "q", ExitAction.CALLBACK),
    ]
    assert finished(out) == {"c1": Outcome.NOBODY_ON_SHIFT, "c2": Outcome.NOBODY_ON_SHIFT}


def test_given_leave_when_empty_off_when_the_last_operator_logs_out_then_callers_keep_waiting() -> None:
    eng, clock = one_queue("a", leave_when_empty=False)
    staffed_paused(eng)
    eng.enqueue("c1", "q")

    assert eng.logout("a") == [OperatorState("a", LOGGED_OUT)]
    assert eng.waiting("q") == ["c1"]
    assert pairs(logged_in(eng, "a"), Offer) == [("c1", "a")]


def test_given_the_last_operator_s_phone_unregisters_then_callers_of_a_leave_when_empty_queue_leave() -> None:
    eng, clock = one_queue("a")
    staffed_paused(eng)
    eng.enqueue("c1", "q")

    assert finished(eng.phone_registered("a", False)) == {"c1": Outcome.NOBODY_ON_SHIFT}


def test_given_the_ringing_operator_s_phone_unregisters_when_they_pause_then_the_caller_does_not_stay_in_an_empty_queue() -> None:
    eng, clock = one_queue("a")
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.phone_registered("a", False)  # c1 still rings a: it stays

    out = eng.pause("a")
    assert out == [
        CancelOffer("c1", "a", "operator paused"),
        NobodyOnShift("c1", "q", ExitAction.HANGUP),
        Finished("c1", "q", Outcome.NOBODY_ON_SHIFT),
        OperatorState("a", PAUSED, "break"),
    ]


def test_given_a_sticky_caller_in_an_empty_queue_when_the_window_ends_then_it_leaves() -> None:
    cfg = config([queue("q", sticky_window=20), queue("elsewhere")], [operator("own", ["elsewhere"])])
    eng, clock = engine(cfg)
    staffed_paused(eng, "own")
    assert eng.enqueue("c1", "q", sticky="own") == []  # own is on shift: the caller may wait for them

    out = advance(eng, clock, 20)
    assert finished(out) == {"c1": Outcome.NOBODY_ON_SHIFT}


# ------------------------------------------------------------------ operators changing state


def test_given_a_ready_operator_when_they_pause_then_they_get_no_calls_until_ready() -> None:
    eng, clock = one_queue("a")
    logged_in(eng, "a")

    assert eng.pause("a", "lunch") == [OperatorState("a", PAUSED, "lunch")]
    assert pairs(eng.enqueue("c1", "q"), Offer) == []
    assert stats(eng, "q").available == 0
    assert pairs(eng.ready("a"), Offer) == [("c1", "a")]


def test_given_a_ringing_operator_when_they_pause_then_the_ring_is_cancelled_and_the_call_rings_the_next() -> None:
    eng, clock = one_queue("a", "b")
    logged_in(eng, "a", "b")
    eng.enqueue("c1", "q")

    out = eng.pause("a", "coffee")
    assert out == [
        CancelOffer("c1", "a", "operator paused"),
        Offer("c1", "b", "q", 15.0),
        OperatorState("a", PAUSED, "coffee"),
    ]


def test_given_a_ringing_operator_when_they_log_out_then_the_ring_is_cancelled_and_the_call_rings_the_next() -> None:
    eng, clock = one_queue("a", "b")
    logged_in(eng, "a", "b")
    eng.enqueue("c1", "q")

    out = eng.logout("a")
    assert pairs(out, CancelOffer) == [("c1", "a")]
    assert pairs(out, Offer) == [("c1", "b")]
    assert eng.operator_status("a") is LOGGED_OUT
    assert stats(eng, "q").staffed == 1


def test_given_an_operator_on_a_call_when_they_pause_then_the_pause_starts_after_the_wrapup() -> None:
    eng, clock = one_queue("a", wrapup=10)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.offer_answered("c1", "a")

    assert eng.pause("a", "lunch") == []
    assert eng.operator_status("a") is ON_CALL
    eng.enqueue("c2", "q")
    out = eng.call_ended("c1")
    assert OperatorState("a", WRAPUP) in out
    out = advance(eng, clock, 10)
    assert out == [OperatorState("a", PAUSED, "lunch")]
    assert eng.offers("c2") == frozenset()


def test_given_an_operator_on_a_call_when_they_log_out_then_they_stay_on_shift_until_after_the_wrapup() -> None:
    eng, clock = one_queue("a", wrapup=10)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.offer_answered("c1", "a")

    assert eng.logout("a") == []
    assert stats(eng, "q").staffed == 1
    eng.call_ended("c1")
    assert eng.operator_status("a") is WRAPUP
    assert advance(eng, clock, 10) == [OperatorState("a", LOGGED_OUT)]
    assert stats(eng, "q").staffed == 0


def test_given_an_operator_in_wrapup_when_they_pause_then_the_pause_follows_the_disposition() -> None:
    eng, clock = one_queue("a", wrapup=60)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    talk(eng, "c1", "a")

    assert eng.pause("a", "training") == []
    assert eng.wrapup_over("a") == [OperatorState("a", PAUSED, "training")]


def test_given_a_pending_pause_when_the_operator_says_ready_during_the_call_then_the_pause_is_dropped() -> None:
    eng, clock = one_queue("a", wrapup=0)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.offer_answered("c1", "a")
    eng.pause("a")
    eng.ready("a")
    eng.enqueue("c2", "q")

    out = eng.call_ended("c1")
    assert OperatorState("a", READY) in out
    assert pairs(out, Offer) == [("c2", "a")]


def test_given_a_logged_out_operator_then_pause_and_ready_are_refused() -> None:
    eng, clock = one_queue("a")
    with pytest.raises(EngineError):
        eng.pause("a")
    with pytest.raises(EngineError):
        eng.ready("a")
    with pytest.raises(EngineError):
        eng.login("zed")


def test_given_an_unregistered_phone_then_the_operator_gets_no_calls_and_does_not_staff_the_queue() -> None:
    eng, clock = one_queue("a", "b")
    logged_in(eng, "a", "b")

    assert eng.phone_registered("a", False) == []
    assert (stats(eng, "q").staffed, stats(eng, "q").available) == (1, 1)
    assert pairs(eng.enqueue("c1", "q"), Offer) == [("c1", "b")]
    assert pairs(eng.enqueue("c2", "q"), Offer) == []
    assert pairs(eng.phone_registered("a", True), Offer) == [("c2", "a")]
    assert eng.phone_registered("a", True) == []  # no change, no decisions


def test_given_an_unregistered_phone_when_the_operator_logs_in_then_they_count_only_once_it_registers() -> None:
    eng, clock = one_queue("a")
    eng.phone_registered("a", False)
    logged_in(eng, "a")
    assert stats(eng, "q").staffed == 0

    eng.phone_registered("a", True)
    assert (stats(eng, "q").staffed, stats(eng, "q").available) == (1, 1)


# ------------------------------------------------------------------ ring guard


def test_given_the_controller_never_reports_a_ring_then_the_guard_cancels_it_as_a_miss_and_rings_the_next() -> None:
    eng, clock = one_queue("a", "b", ring_timeout=15, auto_pause_after=1)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    logged_in(eng, "b")

    assert advance(eng, clock, 15 + eng.RING_GRACE - 0.1) == []
    out = advance(eng, clock, 0.1)
    assert out[0] == CancelOffer("c1", "a", "ring timeout")
    assert of_type(out, AutoPause) == [AutoPause("a", "missed 1 calls in a row")]
    assert pairs(out, Offer) == [("c1", "b")]


def test_given_an_answered_ring_then_the_guard_does_nothing() -> None:
    eng, clock = one_queue("a")
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.offer_answered("c1", "a")

    assert advance(eng, clock, 100) == []
    assert eng.operator_status("a") is ON_CALL


def test_given_a_late_report_after_the_guard_then_it_is_ignored() -> None:
    eng, clock = one_queue("a", auto_pause_after=0)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    advance(eng, clock, 15 + eng.RING_GRACE)

    assert eng.offer_not_answered("c1", "a") == []
    assert eng.offer_answered("c1", "a") == [CancelOffer("c1", "a", "call no longer waiting")]


# ------------------------------------------------------------------ abandon


def test_given_a_ringing_call_when_the_caller_hangs_up_then_the_ring_is_cancelled_and_the_operator_takes_the_next() -> None:
    eng, clock = one_queue("a")
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.enqueue("c2", "q")

    out = eng.abandon("c1")
    assert out == [
        CancelOffer("c1", "a", "caller left"),
        Finished("c1", "q", Outcome.ABANDONED),
        Offer("c2", "a", "q", 15.0),
    ]


def test_given_a_ring_all_call_when_the_caller_hangs_up_then_every_ring_is_cancelled() -> None:
    eng, clock = one_queue("a", "b", strategy=Strategy.RING_ALL)
    logged_in(eng, "a", "b")
    eng.enqueue("c1", "q")

    out = eng.abandon("c1")
    assert sorted(pairs(out, CancelOffer)) == [("c1", "a"), ("c1", "b")]
    assert finished(out) == {"c1": Outcome.ABANDONED}
    assert eng.operator_status("a") is READY and eng.operator_status("b") is READY


def test_given_a_connected_call_when_the_caller_hangs_up_then_it_completes_and_the_operator_wraps_up() -> None:
    eng, clock = one_queue("a", wrapup=5)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.offer_answered("c1", "a")

    assert eng.abandon("c1") == [Finished("c1", "q", Outcome.COMPLETED), OperatorState("a", WRAPUP)]
    assert eng.abandon("c1") == []  # unknown by now
    assert eng.call_ended("c1") == []


def test_given_a_late_answer_after_the_caller_left_then_it_is_cancelled() -> None:
    eng, clock = one_queue("a", "b", strategy=Strategy.RING_ALL)
    logged_in(eng, "a", "b")
    eng.enqueue("c1", "q")
    eng.abandon("c1")

    assert eng.offer_answered("c1", "b") == [CancelOffer("c1", "b", "call no longer waiting")]
    assert eng.operator_status("b") is READY


def test_given_a_waiting_call_when_the_controller_removes_it_then_it_finishes_as_removed() -> None:
    eng, clock = one_queue("a")
    staffed_paused(eng)
    eng.enqueue("c1", "q")

    assert eng.remove("c1") == [Finished("c1", "q", Outcome.REMOVED)]
    assert eng.remove("c1") == []


# ------------------------------------------------------------------ call ids and timers


def test_given_a_call_id_reused_after_it_left_then_the_old_call_s_timers_do_not_touch_the_new_one() -> None:
    cfg = config(
        [queue("q1", announce_every=20, max_wait=MaxWait(after=30)), queue("q2", announce_every=20)],
        [operator("a", ["q1", "q2"])],
    )
    eng, clock = engine(cfg)
    staffed_paused(eng)
    eng.enqueue("c1", "q1")
    clock.advance(10)
    eng.remove("c1")  # e.g. moved to another queue by the controller
    eng.enqueue("c1", "q2")

    out = advance(eng, clock, 50)  # old announcements at 20/40/60 and max wait at 30 must not fire
    assert [(d.call_id, d.position) for d in of_type(out, Announce)] == [("c1", 1), ("c1", 1)]  # at 30 and 50
    assert finished(out) == {}
    assert eng.waiting("q2") == ["c1"]


def test_given_a_duplicate_call_id_then_enqueue_is_refused() -> None:
    eng, clock = one_queue("a")
    staffed_paused(eng)
    eng.enqueue("c1", "q")
    with pytest.raises(EngineError):
        eng.enqueue("c1", "q")
    with pytest.raises(EngineError):
        eng.enqueue("c2", "no-such-queue")


def test_given_nothing_time_based_then_there_is_no_deadline_and_matching_needs_no_tick() -> None:
    eng, clock = one_queue("a", "b", ring_timeout=15)
    logged_in(eng, "a")
    assert eng.next_deadline() is None
    assert eng.tick() == []

    assert pairs(eng.enqueue("c1", "q"), Offer) == [("c1", "a")]  # at once, no tick
    assert eng.next_deadline() == clock.now + 15 + eng.RING_GRACE  # only the ring guard
    eng.enqueue("c2", "q")
    assert pairs(logged_in(eng, "b"), Offer) == [("c2", "b")]  # at once, no tick


def test_given_a_late_tick_then_announcements_do_not_come_in_a_burst() -> None:
    eng, clock = one_queue("a", announce_every=10)
    staffed_paused(eng)
    eng.enqueue("c1", "q")
    clock.advance(100)  # the controller slept through nine announcements

    assert len(of_type(eng.tick(), Announce)) == 1
    assert eng.next_deadline() == pytest.approx(clock.now + 5)


# ------------------------------------------------------------------ re-adoption


def test_given_callers_re_adopted_after_a_restart_then_they_keep_their_original_order() -> None:
    eng, clock = one_queue("a", max_wait=MaxWait(after=120))
    staffed_paused(eng)
    eng.enqueue("new", "q")  # arrived after the restart
    eng.enqueue("old2", "q", enqueued_at=clock.now - 50)
    eng.enqueue("old1", "q", enqueued_at=clock.now - 90)

    assert eng.waiting("q") == ["old1", "old2", "new"]
    assert eng.position("old1") == 1
    out = eng.ready("a")
    assert pairs(out, Offer) == [("old1", "a")]
    assert of_type(eng.offer_answered("old1", "a"), Connect) == [Connect("old1", "a", "q", 90.0)]
    out = advance(eng, clock, 70)  # old2's max wait counts from its original arrival
    assert finished(out) == {"old2": Outcome.EXPIRED}


def test_given_a_re_adopted_caller_then_it_competes_across_queues_with_its_original_wait() -> None:
    eng, clock = _two_queues()
    staffed_paused(eng)
    eng.enqueue("here", "q1", enqueued_at=clock.now - 10)
    eng.enqueue("there", "q2", enqueued_at=clock.now - 20)

    assert pairs(eng.ready("a"), Offer) == [("there", "a")]


# ------------------------------------------------------------------ config reload


def test_given_a_new_queue_in_the_config_then_callers_can_join_it_and_its_operators_serve_it() -> None:
    eng, clock = one_queue("a")
    logged_in(eng, "a")
    new = config([queue("q"), queue("new")], [operator("a", ["q", "new"])])

    assert eng.apply_config(new) == []
    assert pairs(eng.enqueue("c1", "new"), Offer) == [("c1", "a")]
    assert [s.name for s in eng.queue_stats()] == ["q", "new"]


def test_given_a_queue_removed_from_the_config_then_its_callers_are_still_served_and_newcomers_refused() -> None:
    cfg = config([queue("old", wrapup=0), queue("keep")], [operator("a", ["old", "keep"])])
    eng, clock = engine(cfg)
    logged_in(eng, "a")
    eng.enqueue("c1", "old")
    eng.offer_answered("c1", "a")
    eng.enqueue("c2", "old")

    out = eng.apply_config(config([queue("keep")], [operator("a", ["keep"])]))
    assert out == []  # c2 keeps waiting: the queue drains
    assert stats(eng, "old").draining
    with pytest.raises(EngineError):
        eng.enqueue("c3", "old")

    out = eng.call_ended("c1")
    assert pairs(out, Offer) == [("c2", "a")]
    eng.offer_answered("c2", "a")
    assert [s.name for s in eng.queue_stats()] == ["keep"]  # drained
    out = eng.call_ended("c2")  # the queue is gone; the call still completes
    assert finished(out) == {"c2": Outcome.COMPLETED}
    assert eng.operator_status("a") is WRAPUP  # the default wrap-up applies
    eng.enqueue("k1", "keep")
    assert pairs(eng.wrapup_over("a"), Offer) == [("k1", "a")]


def test_given_a_draining_queue_when_its_last_operator_s_phone_unregisters_then_its_callers_leave_and_it_goes() -> None:
    cfg = config([queue("old"), queue("keep")], [operator("a", ["old", "keep"]), operator("b", ["keep"])])
    eng, clock = engine(cfg)
    staffed_paused(eng, "a")
    logged_in(eng, "b")
    eng.enqueue("c1", "old")
    eng.apply_config(config([queue("keep")], [operator("a", ["keep"]), operator("b", ["keep"])]))

    out = eng.phone_registered("a", False)
    assert finished(out) == {"c1": Outcome.NOBODY_ON_SHIFT}
    assert [s.name for s in eng.queue_stats()] == ["keep"]
    assert stats(eng, "keep").staffed == 1


def test_given_a_queue_removed_while_empty_then_it_disappears_at_once() -> None:
    eng, clock = engine(config([queue("old"), queue("keep")], [operator("a", ["old", "keep"])]))
    logged_in(eng, "a")

    eng.apply_config(config([queue("keep")], [operator("a", ["keep"])]))
    assert [s.name for s in eng.queue_stats()] == ["keep"]
    assert pairs(eng.enqueue("k1", "keep"), Offer) == [("k1", "a")]


def test_given_a_removed_queue_is_added_back_while_draining_then_it_is_a_normal_queue_again() -> None:
    cfg = config([queue("old"), queue("keep")], [operator("a", ["old", "keep"])])
    eng, clock = engine(cfg)
    staffed_paused(eng)
    eng.enqueue("c1", "old")
    eng.apply_config(config([queue("keep")], [operator("a", ["keep"])]))
    eng.apply_config(cfg)

    assert not stats(eng, "old").draining
    assert eng.enqueue("c2", "old") == []
    assert eng.waiting("old") == ["c1", "c2"]


def test_given_an_operator_removed_from_the_config_during_a_call_then_they_are_logged_out_after_it() -> None:
    eng, clock = one_queue("a", "b", wrapup=5)
    logged_in(eng, "a", "b")
    eng.enqueue("c1", "q")
    eng.offer_answered("c1", "a")

    assert eng.apply_config(config([queue("q", wrapup=5)], [operator("b", ["q"])])) == []
    assert eng.operator_status("a") is ON_CALL
    assert stats(eng, "q").staffed == 1
    eng.call_ended("c1")
    assert advance(eng, clock, 5) == [OperatorState("a", LOGGED_OUT)]
    eng.pause("b")
    eng.enqueue("c2", "q")
    assert pairs(logged_in(eng, "a"), Offer) == []  # not a member of anything any more


def test_given_a_ringing_operator_removed_from_the_config_then_the_ring_moves_on_at_once() -> None:
    eng, clock = one_queue("a", "b")
    logged_in(eng, "a", "b")
    eng.enqueue("c1", "q")

    out = eng.apply_config(config([queue("q")], [operator("b", ["q"])]))
    assert pairs(out, CancelOffer) == [("c1", "a")]
    assert pairs(out, Offer) == [("c1", "b")]
    assert eng.operator_status("a") is LOGGED_OUT


def test_given_an_operator_added_to_a_queue_where_callers_wait_then_they_are_matched_at_once() -> None:
    cfg = config([queue("q1"), queue("q2")], [operator("a", ["q1"]), operator("b", ["q2"])])
    eng, clock = engine(cfg)
    logged_in(eng, "a")
    staffed_paused(eng, "b")
    eng.enqueue("c1", "q2")

    out = eng.apply_config(config([queue("q1"), queue("q2")], [operator("a", ["q1", "q2"]), operator("b", ["q2"])]))
    assert pairs(out, Offer) == [("c1", "a")]
    assert (stats(eng, "q2").staffed, stats(eng, "q2").available) == (2, 0)


def test_given_the_last_member_leaves_a_queue_in_a_reload_then_its_callers_leave() -> None:
    cfg = config([queue("q1"), queue("q2")], [operator("a", ["q1", "q2"])])
    eng, clock = engine(cfg)
    staffed_paused(eng)
    eng.enqueue("c1", "q2")

    out = eng.apply_config(config([queue("q1"), queue("q2")], [operator("a", ["q1"])]))
    assert finished(out) == {"c1": Outcome.NOBODY_ON_SHIFT}


def test_given_a_queue_priority_change_then_waiting_callers_are_re_ranked() -> None:
    eng, clock = _two_queues()
    staffed_paused(eng)
    eng.enqueue("first", "q2")
    clock.advance(10)
    eng.enqueue("second", "q1")
    eng.apply_config(config([queue("q1", priority=1), queue("q2")], [operator("a", ["q1", "q2"])]))

    assert pairs(eng.ready("a"), Offer) == [("second", "a")]
