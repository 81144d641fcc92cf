"""Outbound (campaign) work in the ACD engine: ``reserve`` makes a READY operator busy
with a call the engine does not route, ``release`` frees them at once (nothing was
said), ``call_ended`` ends a conversation in wrap-up. Inbound callers that waited
meanwhile get the operator first."""

from __future__ import annotations

import pytest
from acd_support import advance, config, engine, logged_in, of_type, operator, queue

from ari_app.core.acd import (CAMPAIGN, OUTBOUND, EngineError, Finished, Offer, OperatorState, OperatorStatus,
                              Outcome)

READY, ON_CALL, WRAPUP, PAUSED = (OperatorStatus.READY, OperatorStatus.ON_CALL, OperatorStatus.WRAPUP,
                                  OperatorStatus.PAUSED)


def center(wrapup: float = 5.0, default_wrapup: float = 3.0):
    return engine(config([queue("q", wrapup=wrapup)], [operator("anna", ["q"]), operator("john", ["q"])],
                         wrapup=default_wrapup))


def test_reserving_a_ready_operator_makes_them_busy_with_the_campaign():
    eng, _ = center()
    logged_in(eng, "anna")
    assert eng.reserve("anna", "sbx-1") == [OperatorState("anna", ON_CALL, CAMPAIGN)]
    assert eng.operator_status("anna") is ON_CALL
    assert eng.call_queue("sbx-1") == OUTBOUND
    assert [s.available for s in eng.queue_stats()] == [0]
    assert [s.staffed for s in eng.queue_stats()] == [1]


def test_an_inbound_caller_is_not_offered_to_a_reserved_operator_and_gets_them_right_after_release():
    eng, _ = center()
    logged_in(eng, "anna")
    eng.reserve("anna", "sbx-1")
    assert eng.enqueue("c1", "q") == []  # waits
    out = eng.release("sbx-1")
    assert out[0] == OperatorState("anna", READY)
    assert [(o.call_id, o.operator) for o in of_type(out, Offer)] == [("c1", "anna")]
    assert not of_type(out, Finished)  # the outbound call is the controller's to record


def test_an_ended_outbound_conversation_goes_through_wrap_up_with_the_default_wrapup_then_takes_a_waiting_caller():
    eng, clock = center(wrapup=20.0, default_wrapup=3.0)
    logged_in(eng, "anna")
    eng.reserve("anna", "sbx-1")
    eng.enqueue("c1", "q")
    clock.advance(40)
    ended = eng.call_ended("sbx-1")
    assert Finished("sbx-1", OUTBOUND, Outcome.COMPLETED) in ended
    assert OperatorState("anna", WRAPUP) in ended
    assert of_type(advance(eng, clock, 2.9), Offer) == []  # the queue's 20 s do not apply: no queue
    offers = of_type(advance(eng, clock, 0.2), Offer)
    assert [(o.call_id, o.operator) for o in offers] == [("c1", "anna")]


def test_a_pause_asked_for_during_outbound_work_applies_at_release():
    eng, _ = center()
    logged_in(eng, "anna")
    eng.reserve("anna", "sbx-1")
    assert eng.pause("anna", "lunch") == []
    assert eng.operator_status("anna") is ON_CALL
    assert eng.release("sbx-1") == [OperatorState("anna", PAUSED, "lunch")]
    assert eng.operator_status("anna") is PAUSED


def test_a_logout_asked_for_during_outbound_work_applies_at_release():
    eng, _ = center()
    logged_in(eng, "anna")
    eng.reserve("anna", "sbx-1")
    eng.logout("anna")
    assert OperatorState("anna", OperatorStatus.LOGGED_OUT) in eng.release("sbx-1")
    assert eng.operator_status("anna") is OperatorStatus.LOGGED_OUT


def test_only_a_ready_operator_can_be_reserved_and_a_call_id_only_once():
    eng, _ = center()
    logged_in(eng, "anna", ready=False)
    with pytest.raises(EngineError):
        eng.reserve("anna", "sbx-1")  # paused
    eng.ready("anna")
    eng.phone_registered("anna", False)
    assert not eng.available("anna")
    with pytest.raises(EngineError):
        eng.reserve("anna", "sbx-1")  # no phone to ring
    eng.phone_registered("anna", True)
    assert eng.available("anna") and not eng.available("nobody")
    eng.reserve("anna", "sbx-1")
    logged_in(eng, "john")
    with pytest.raises(EngineError):
        eng.reserve("john", "sbx-1")
    with pytest.raises(EngineError):
        eng.reserve("anna", "sbx-2")  # busy already
    with pytest.raises(EngineError):
        eng.reserve("nobody", "sbx-3")


def test_release_of_an_unknown_or_inbound_call_changes_nothing():
    eng, _ = center()
    logged_in(eng, "anna")
    eng.enqueue("c1", "q")
    eng.offer_answered("c1", "anna")
    assert eng.release("c1") == []
    assert eng.release("nope") == []
    assert eng.operator_status("anna") is ON_CALL


def test_the_engine_keeps_working_with_an_outbound_call_in_it():
    """Every path that looks up a call's queue copes with the outbound one's: ticks,
    a config reload, EWT of waiting callers, queue stats, abandon."""
    eng, clock = center()
    logged_in(eng, "anna", "john")
    eng.reserve("anna", "sbx-1")
    eng.enqueue("c1", "q")
    eng.offer_answered("c1", "john")
    eng.enqueue("c2", "q")  # waits; its EWT counts anna as busy
    assert eng.estimate("c2") is not None
    advance(eng, clock, 30)
    eng.apply_config(eng.config)
    assert eng.operator_status("anna") is ON_CALL
    assert [s.waiting for s in eng.queue_stats()] == [1]
    out = eng.abandon("sbx-1")  # the same as call_ended for a connected call
    assert OperatorState("anna", WRAPUP) in out


def test_an_outbound_call_found_talking_after_a_restart_is_adopted():
    eng, clock = center(default_wrapup=3.0)
    logged_in(eng, "anna")
    eng.adopt_connected("sbx-1", OUTBOUND, "anna", enqueued_at=clock.now - 5, answered_at=clock.now - 5)
    assert eng.operator_status("anna") is ON_CALL
    assert OperatorState("anna", WRAPUP) in eng.call_ended("sbx-1")
