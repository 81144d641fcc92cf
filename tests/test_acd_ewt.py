"""Estimated wait time: the position-aware estimate, app_queue's figure, and what the
engine announces."""

from __future__ import annotations

import math

import pytest
from acd_support import advance, config, engine, logged_in, of_type, operator, queue, talk
from hypothesis import given, settings
from hypothesis import strategies as st

from ari_app.core.acd import Announce
from ari_app.core.acd.ewt import AppQueueEwt, Server, estimate_wait

TALK, WRAPUP = 100.0, 10.0


def ewt(position: int, servers: list[Server], **kw) -> float:
    kw.setdefault("talk", TALK)
    kw.setdefault("wrapup", WRAPUP)
    return estimate_wait(position, servers, **kw)


def free() -> Server:
    return Server(0.0)


def wrapping_up(seconds_left: float, **kw) -> Server:
    return Server(seconds_left, **kw)


def talking(expected_rest: float, **kw) -> Server:
    return Server(None, expected_rest, **kw)


# ------------------------------------------------------------------ estimate_wait


def test_given_a_free_operator_then_the_first_caller_waits_nothing() -> None:
    assert ewt(1, [free()]) == 0.0
    assert ewt(1, [free(), talking(90.0)]) == 0.0


def test_given_operators_whose_free_times_are_known_then_the_caller_at_position_p_waits_for_the_p_th() -> None:
    servers = [wrapping_up(30.0), wrapping_up(10.0), wrapping_up(50.0)]

    assert [ewt(p, servers) for p in (1, 2, 3)] == [10.0, 30.0, 50.0]


def test_given_one_talking_operator_then_each_caller_waits_a_call_and_a_wrapup_more_than_the_one_ahead() -> None:
    # The current call has 40 s left; then wrap-up; each next caller a fresh call later.
    assert [ewt(p, [talking(40.0)]) for p in (1, 2, 3)] == pytest.approx([50.0, 160.0, 270.0])


def test_given_several_talking_operators_then_the_first_of_them_to_finish_takes_the_first_caller() -> None:
    one = ewt(1, [talking(60.0)])
    two = ewt(1, [talking(60.0), talking(60.0)])

    assert one == pytest.approx(70.0)
    assert two == pytest.approx(40.0)  # two racers finish the first call twice as soon


def test_given_an_operator_shared_with_other_queues_then_this_queue_waits_longer() -> None:
    assert ewt(1, [wrapping_up(20.0)]) == 20.0
    assert ewt(1, [wrapping_up(20.0, share=0.5)]) > 20.0
    assert ewt(2, [free(), free()]) == 0.0
    assert ewt(2, [Server(0.0, share=0.5), Server(0.0, share=0.5)]) > 0.0


def test_given_nobody_serves_the_queue_then_the_wait_is_unknown() -> None:
    assert ewt(1, []) == math.inf
    assert ewt(3, [Server(0.0, share=0.0)]) == math.inf  # a zero share serves nobody


def test_given_a_position_below_one_then_it_counts_as_first_in_line() -> None:
    assert ewt(0, [wrapping_up(25.0)]) == ewt(1, [wrapping_up(25.0)]) == 25.0


def test_given_negative_time_left_then_the_operator_counts_as_free_now() -> None:
    assert ewt(1, [wrapping_up(-5.0)]) == 0.0


def test_given_callers_ahead_hang_up_then_the_wait_is_shorter() -> None:
    patient = ewt(3, [talking(60.0)])
    impatient = ewt(3, [talking(60.0)], abandon_rate=0.01)

    assert impatient < patient
    assert ewt(1, [talking(60.0)], abandon_rate=0.01) == ewt(1, [talking(60.0)])  # nobody ahead


def test_given_a_tier_not_open_yet_then_the_operator_takes_the_caller_no_sooner() -> None:
    assert ewt(1, [Server(0.0, not_before=15.0)]) == 15.0


def test_given_a_tier_held_operator_and_a_free_one_then_the_first_caller_is_not_held_back() -> None:
    servers = [Server(0.0, not_before=100.0), free()]

    assert ewt(1, servers) == 0.0
    assert ewt(1, servers) <= ewt(2, servers)


def test_given_a_tier_held_operator_then_a_caller_further_back_never_hears_a_shorter_wait() -> None:
    # Free but held back: the engine says when its tier opens for the head of the line.
    servers = [Server(15.0, not_before=15.0), talking(5.0)]
    first, second = (ewt(p, servers, talk=10.0, wrapup=0.0) for p in (1, 2))

    assert first == 5.0
    assert second >= first


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    servers=st.lists(
        st.builds(
            Server,
            free_in=st.one_of(st.none(), st.floats(0, 600)),
            talk_left=st.floats(0, 900),
            share=st.floats(0.05, 1.0),
        ),
        min_size=1,
        max_size=6,
    ),
    talk=st.floats(1.0, 900.0),
    wrapup=st.floats(0.0, 120.0),
    abandon_rate=st.sampled_from([0.0, 0.001, 0.02]),
    position=st.integers(1, 40),
)
def test_the_estimate_is_finite_and_never_decreases_with_position(servers, talk, wrapup, abandon_rate, position) -> None:
    here = ewt(position, servers, talk=talk, wrapup=wrapup, abandon_rate=abandon_rate)
    behind = ewt(position + 1, servers, talk=talk, wrapup=wrapup, abandon_rate=abandon_rate)

    assert 0.0 <= here <= behind + 1e-6
    assert math.isfinite(behind)


# ------------------------------------------------------------------ app_queue


def test_app_queue_hold_time_is_an_ewma_of_three_quarters_old_one_quarter_new() -> None:
    aq = AppQueueEwt()
    assert aq.holdtime == 0.0
    aq.connected(40.0)
    assert aq.holdtime == 10.0
    aq.connected(40.0)
    assert aq.holdtime == 17.5


def test_app_queue_announces_hold_time_minus_waited_the_same_for_every_position() -> None:
    aq = AppQueueEwt()
    for _ in range(20):
        aq.connected(60.0)
    first_in_line = aq.announce(waited=10.0)
    twentieth_in_line = aq.announce(waited=10.0)

    assert first_in_line == twentieth_in_line == pytest.approx(aq.holdtime - 10.0)
    assert aq.announce(waited=aq.holdtime + 15.0) == pytest.approx(15.0)  # the absolute value, as labs()


# ------------------------------------------------------------------ in the engine


def test_given_callers_waiting_behind_a_busy_operator_then_the_announced_estimate_grows_with_position() -> None:
    cfg = config([queue("q", announce_every=30, expected_handle_time=120)], [operator("a", ["q"])])
    eng, clock = engine(cfg)
    logged_in(eng, "a")
    eng.enqueue("busy", "q")
    eng.offer_answered("busy", "a")
    clock.advance(20)
    first = []
    for i in range(3):
        first += eng.enqueue(f"c{i}", "q")

    assert [(d.call_id, d.position) for d in first] == [("c0", 1), ("c1", 2), ("c2", 3)]
    ewts = [d.ewt for d in first]
    assert 0 < ewts[0] < ewts[1] < ewts[2]
    assert ewts[1] - ewts[0] >= 60  # at least most of a call per place in line

    later = of_type(advance(eng, clock, 30), Announce)
    assert [d.position for d in later] == [1, 2, 3]
    assert [d.ewt for d in later] == sorted(d.ewt for d in later)
    assert later[0].ewt < ewts[0]  # 30 s later the head of the line is closer
    assert all(d.language == "en" for d in later)


def test_given_an_operator_on_a_long_call_then_the_estimate_still_expects_some_wait_left() -> None:
    cfg = config([queue("q", announce_every=30, expected_handle_time=100)], [operator("a", ["q"])])
    eng, clock = engine(cfg)
    logged_in(eng, "a")
    eng.enqueue("busy", "q")
    eng.offer_answered("busy", "a")
    clock.advance(500)  # far past the expected handle time
    eng.enqueue("c1", "q")

    estimate = eng.estimate("c1")
    assert estimate is not None and 0 < estimate <= 100.0  # some of a call left, plus the wrap-up


def test_given_nobody_available_to_estimate_from_then_the_announcement_has_no_estimate() -> None:
    cfg = config([queue("q", announce_every=30)], [operator("a", ["q"])])
    eng, clock = engine(cfg)
    eng.login("a", ready=False)  # on shift, paused: callers join, but nobody is coming

    assert eng.enqueue("c1", "q") == [Announce("c1", "q", 1, None, "en")]
    assert eng.estimate("c1") is None
    assert of_type(advance(eng, clock, 30), Announce) == [Announce("c1", "q", 1, None, "en")]


def test_given_observed_handle_times_then_the_queue_s_handle_time_moves_from_the_prior_towards_them() -> None:
    cfg = config([queue("q", wrapup=0, announce_every=0, expected_handle_time=180)], [operator("a", ["q"])])
    eng, clock = engine(cfg)
    logged_in(eng, "a")
    for i in range(5):
        eng.enqueue(f"c{i}", "q")
        eng.offer_answered(f"c{i}", "a")
        clock.advance(60)
        eng.call_ended(f"c{i}")

    [stats] = eng.queue_stats()
    assert stats.handle_time == pytest.approx((180 * 5 + 60 * 5) / 10)


def test_given_an_operator_in_wrapup_then_the_first_caller_s_estimate_is_the_wrapup_left() -> None:
    cfg = config([queue("q", wrapup=40, announce_every=30)], [operator("a", ["q"])])
    eng, clock = engine(cfg)
    logged_in(eng, "a")
    eng.enqueue("c0", "q")
    talk(eng, "c0", "a")
    clock.advance(15)

    [announce] = eng.enqueue("c1", "q")
    assert announce.ewt == pytest.approx(25.0)


def test_given_a_connected_or_unknown_call_then_there_is_no_estimate() -> None:
    cfg = config([queue("q")], [operator("a", ["q"])])
    eng, clock = engine(cfg)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    eng.offer_answered("c1", "a")

    assert eng.estimate("c1") is None
    assert eng.estimate("nope") is None
    assert eng.position("c1") is None


def test_given_a_free_junior_held_back_by_tiers_then_callers_hear_when_their_tier_opens() -> None:
    """The junior is free but may take callers only after 60 s: the first caller hears
    about 60 s (the expert is on a long call), and the second no less."""
    from ari_app.config.model import Strategy

    cfg = config(
        [queue("q", strategy=Strategy.SKILL_TIERS, tiers=(7,), escalate_after=60, announce_every=30,
               expected_handle_time=600, wrapup=0)],
        [operator("expert", {"q": 9}), operator("junior", {"q": 3})],
    )
    eng, clock = engine(cfg)
    logged_in(eng, "expert")
    eng.enqueue("busy", "q")
    eng.offer_answered("busy", "expert")
    logged_in(eng, "junior")
    first = of_type(eng.enqueue("c1", "q"), Announce)[0]
    clock.advance(10)
    second = of_type(eng.enqueue("c2", "q"), Announce)[0]

    assert first.ewt == pytest.approx(60.0)
    assert second.ewt >= eng.estimate("c1")
