"""Which free operator gets a waiting call: one test group per queue strategy."""

from __future__ import annotations

from collections import Counter

from acd_support import advance, config, engine, logged_in, of_type, operator, pairs, queue, talk

from ari_app.config.model import QueueConfig, Strategy
from ari_app.core.acd import CancelOffer, Connect, Offer, OperatorStatus

# ------------------------------------------------------------------ longest idle


def test_longest_idle_is_the_default_strategy() -> None:
    assert QueueConfig(name="q", title="Q", skills=("q",)).strategy is Strategy.LONGEST_IDLE


def test_given_operators_ready_at_different_times_when_a_call_arrives_then_the_longest_idle_gets_it() -> None:
    eng, clock = engine(config([queue("q")], [operator("a", ["q"]), operator("b", ["q"]), operator("c", ["q"])]))
    logged_in(eng, "b")
    clock.advance(10)
    logged_in(eng, "a")
    clock.advance(10)
    logged_in(eng, "c")

    assert pairs(eng.enqueue("c1", "q"), Offer) == [("c1", "b")]
    assert pairs(eng.enqueue("c2", "q"), Offer) == [("c2", "a")]
    assert pairs(eng.enqueue("c3", "q"), Offer) == [("c3", "c")]


def test_given_an_operator_back_from_wrapup_when_a_call_arrives_then_their_idle_time_counts_from_the_wrapup_end() -> None:
    eng, clock = engine(config([queue("q", wrapup=10)], [operator("a", ["q"]), operator("b", ["q"])]))
    logged_in(eng, "a")
    clock.advance(5)
    logged_in(eng, "b")
    eng.enqueue("c1", "q")
    talk(eng, "c1", "a")
    assert pairs(advance(eng, clock, 10), Offer) == []  # a is back, but b has waited longer since

    assert pairs(eng.enqueue("c2", "q"), Offer) == [("c2", "b")]


# ------------------------------------------------------------------ fewest calls


def test_given_fewest_calls_when_a_call_arrives_then_the_operator_with_fewer_calls_in_the_queue_gets_it() -> None:
    cfg = config([queue("q", strategy=Strategy.FEWEST_CALLS, wrapup=0)], [operator("a", ["q"]), operator("b", ["q"])])
    eng, clock = engine(cfg)
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    talk(eng, "c1", "a")  # a: 1 call, idle since now
    clock.advance(10)
    logged_in(eng, "b")  # b: 0 calls, idle for less time than a
    clock.advance(10)

    assert pairs(eng.enqueue("c2", "q"), Offer) == [("c2", "b")]


def test_given_fewest_calls_when_counts_tie_then_the_longest_idle_breaks_the_tie() -> None:
    cfg = config([queue("q", strategy=Strategy.FEWEST_CALLS)], [operator("a", ["q"]), operator("b", ["q"])])
    eng, clock = engine(cfg)
    logged_in(eng, "b")
    clock.advance(1)
    logged_in(eng, "a")

    assert pairs(eng.enqueue("c1", "q"), Offer) == [("c1", "b")]


def test_given_fewest_calls_when_an_operator_took_calls_in_another_queue_then_only_this_queues_calls_count() -> None:
    cfg = config(
        [queue("q", strategy=Strategy.FEWEST_CALLS, wrapup=0), queue("other", wrapup=0)],
        [operator("a", ["q", "other"]), operator("b", ["q"])],
    )
    eng, clock = engine(cfg)
    logged_in(eng, "b")
    clock.advance(1)
    logged_in(eng, "a")
    for i in range(3):
        eng.enqueue(f"o{i}", "other")
        talk(eng, f"o{i}", "a")
    assert pairs(eng.enqueue("q1", "q"), Offer) == [("q1", "b")]  # 0 each in q: b idle longer
    talk(eng, "q1", "b")  # b: 1 call in q; a: 3 calls elsewhere, 0 in q
    clock.advance(1)

    assert pairs(eng.enqueue("q2", "q"), Offer) == [("q2", "a")]


# ------------------------------------------------------------------ round robin


def _rr() -> tuple:
    cfg = config(
        [queue("q", strategy=Strategy.ROUND_ROBIN, wrapup=0)],
        [operator("a", ["q"]), operator("b", ["q"]), operator("c", ["q"])],
    )
    return engine(cfg)


def test_given_round_robin_when_calls_arrive_then_operators_take_turns_in_config_order() -> None:
    eng, clock = _rr()
    logged_in(eng, "c", "b", "a")  # login order must not matter, config order does
    got = []
    for i in range(6):
        [(cid, login)] = pairs(eng.enqueue(f"c{i}", "q"), Offer)
        got.append(login)
        talk(eng, cid, login)
        clock.advance(1)

    assert got == ["a", "b", "c", "a", "b", "c"]


def test_given_round_robin_when_the_next_in_turn_is_busy_then_the_one_after_gets_it_and_the_turn_is_remembered() -> None:
    eng, clock = _rr()
    logged_in(eng, "a", "b", "c")
    eng.enqueue("c1", "q")
    eng.offer_answered("c1", "a")
    eng.enqueue("c2", "q")
    eng.offer_answered("c2", "b")
    eng.call_ended("c1")  # a is free again; last turn was b's

    assert pairs(eng.enqueue("c3", "q"), Offer) == [("c3", "c")]  # after b comes c, not a
    eng.offer_answered("c3", "c")
    eng.call_ended("c2")  # a and b are free; last turn was c's

    assert pairs(eng.enqueue("c4", "q"), Offer) == [("c4", "a")]
    assert pairs(eng.enqueue("c5", "q"), Offer) == [("c5", "b")]


# ------------------------------------------------------------------ skill tiers


def _tiers(**fields):
    q = queue("q", strategy=Strategy.SKILL_TIERS, tiers=(7, 4), escalate_after=30, **fields)
    ops = [operator("expert", {"q": 8}), operator("mid", {"q": 5}), operator("junior", {"q": 2})]
    return engine(config([q], ops))


def test_given_skill_tiers_when_everyone_is_free_then_the_highest_tier_gets_the_call_at_once() -> None:
    eng, clock = _tiers()
    logged_in(eng, "junior", "mid", "expert")

    assert pairs(eng.enqueue("c1", "q"), Offer) == [("c1", "expert")]


def test_given_skill_tiers_when_the_top_tier_is_busy_then_the_next_tier_gets_the_call_only_after_escalate_after() -> None:
    eng, clock = _tiers()
    logged_in(eng, "expert")
    eng.enqueue("busy", "q")
    eng.offer_answered("busy", "expert")
    logged_in(eng, "mid", "junior")

    assert pairs(eng.enqueue("c1", "q"), Offer) == []
    assert pairs(advance(eng, clock, 29.5), Offer) == []
    assert pairs(advance(eng, clock, 0.5), Offer) == [("c1", "mid")]  # at exactly 30 s


def test_given_skill_tiers_when_only_the_lowest_tier_is_free_then_it_waits_two_escalations() -> None:
    eng, clock = _tiers()
    logged_in(eng, "junior")
    eng.enqueue("c1", "q")

    assert pairs(advance(eng, clock, 59), Offer) == []
    assert pairs(advance(eng, clock, 1), Offer) == [("c1", "junior")]


def test_given_skill_tiers_when_a_lower_tier_operator_frees_up_after_the_escalation_then_they_take_the_call_at_once() -> None:
    eng, clock = _tiers()
    logged_in(eng, "expert", ready=False)  # on shift but paused: callers may join
    eng.enqueue("c1", "q")
    advance(eng, clock, 40)

    assert pairs(logged_in(eng, "mid"), Offer) == [("c1", "mid")]


def test_given_skill_tiers_when_an_escalation_is_due_at_a_fractional_time_then_it_still_happens() -> None:
    eng, clock = _tiers()
    clock.now = 1000.1
    logged_in(eng, "mid")
    eng.enqueue("c1", "q")  # escalation due at 1000.1 + 30, which is not exactly 30 s later in floats

    assert pairs(advance(eng, clock, 30), Offer) == [("c1", "mid")]


def test_given_skill_tiers_when_several_operators_are_eligible_then_the_higher_level_wins_over_idle_time() -> None:
    q = queue("q", strategy=Strategy.SKILL_TIERS, tiers=(7, 4), escalate_after=30)
    eng, clock = engine(config([q], [operator("five", {"q": 5}), operator("six", {"q": 6})]))
    logged_in(eng, "five")
    clock.advance(100)
    logged_in(eng, "six")
    eng.enqueue("c1", "q")

    assert pairs(advance(eng, clock, 30), Offer) == [("c1", "six")]


# ------------------------------------------------------------------ random


def _random_winners(seed: int, calls: int = 90) -> list[str]:
    cfg = config(
        [queue("q", strategy=Strategy.RANDOM, wrapup=0)],
        [operator("a", ["q"]), operator("b", ["q"]), operator("c", ["q"])],
    )
    eng, clock = engine(cfg, seed=seed)
    logged_in(eng, "a", "b", "c")
    winners = []
    for i in range(calls):
        [(cid, login)] = pairs(eng.enqueue(f"c{i}", "q"), Offer)
        winners.append(login)
        talk(eng, cid, login)
    return winners


def test_given_random_when_many_calls_arrive_then_every_free_operator_gets_a_fair_share() -> None:
    counts = Counter(_random_winners(seed=7))

    assert set(counts) == {"a", "b", "c"}
    assert min(counts.values()) >= 15  # expected 30 each


def test_given_random_with_the_same_seed_then_the_choices_repeat() -> None:
    assert _random_winners(seed=3) == _random_winners(seed=3)
    assert _random_winners(seed=3) != _random_winners(seed=4)


# ------------------------------------------------------------------ ring all


def _ring_all():
    cfg = config(
        [queue("q", strategy=Strategy.RING_ALL, ring_timeout=20)],
        [operator("a", ["q"]), operator("b", ["q"]), operator("c", ["q"])],
    )
    return engine(cfg)


def test_given_ring_all_when_a_call_arrives_then_every_free_operator_rings_at_once() -> None:
    eng, clock = _ring_all()
    logged_in(eng, "a", "b", "c")
    out = eng.enqueue("c1", "q")

    assert sorted(pairs(out, Offer)) == [("c1", "a"), ("c1", "b"), ("c1", "c")]
    assert all(o.ring_all and o.ring_timeout == 20 for o in of_type(out, Offer))
    assert eng.offers("c1") == {"a", "b", "c"}


def test_given_ring_all_when_one_operator_answers_then_the_others_are_cancelled_and_free_again() -> None:
    eng, clock = _ring_all()
    logged_in(eng, "a", "b", "c")
    eng.enqueue("c1", "q")
    out = eng.offer_answered("c1", "b")

    assert of_type(out, Connect) == [Connect("c1", "b", "q", 0.0)]
    assert sorted(pairs(out, CancelOffer)) == [("c1", "a"), ("c1", "c")]
    assert {d.reason for d in of_type(out, CancelOffer)} == {"answered elsewhere"}
    assert eng.operator_status("a") is OperatorStatus.READY
    assert eng.operator_status("c") is OperatorStatus.READY
    assert sorted(pairs(eng.enqueue("c2", "q"), Offer)) == [("c2", "a"), ("c2", "c")]


def test_given_ring_all_when_a_cancelled_operator_answers_late_then_the_answer_is_cancelled_not_connected() -> None:
    eng, clock = _ring_all()
    logged_in(eng, "a", "b")
    eng.enqueue("c1", "q")
    eng.offer_answered("c1", "a")
    out = eng.offer_answered("c1", "b")

    assert out == [CancelOffer("c1", "b", "call no longer waiting")]
    assert eng.operator_status("a") is OperatorStatus.ON_CALL
    assert eng.operator_status("b") is OperatorStatus.READY


def test_given_ring_all_when_an_operator_becomes_free_during_the_ring_then_they_join_it() -> None:
    eng, clock = _ring_all()
    logged_in(eng, "a")
    eng.enqueue("c1", "q")
    out = logged_in(eng, "b")

    assert pairs(out, Offer) == [("c1", "b")]
    assert eng.offers("c1") == {"a", "b"}


def test_given_ring_all_when_one_operator_lets_it_ring_out_then_the_others_keep_ringing() -> None:
    eng, clock = _ring_all()
    logged_in(eng, "a", "b")
    eng.enqueue("c1", "q")
    out = eng.offer_not_answered("c1", "a")

    assert pairs(out, Offer) == []  # a is skipped, b still rings
    assert eng.offers("c1") == {"b"}
    assert eng.operator_status("a") is OperatorStatus.READY
