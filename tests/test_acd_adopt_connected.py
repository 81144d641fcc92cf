"""The ACD engine re-adopting a call found talking after a restart
(``Engine.adopt_connected``): the operator is busy with it, its end is an ordinary
one (outcome completed, wrap-up), and a pause the operator had applies after it."""

from __future__ import annotations

import pytest
from acd_support import advance, config, engine, logged_in, of_type, operator, queue

from ari_app.core.acd import EngineError, Finished, Offer, OperatorState, OperatorStatus, Outcome


def one_queue(*logins: str):
    return engine(config([queue("q", wrapup=5.0)], [operator(login, ["q"]) for login in logins]))


def test_a_ready_operator_found_talking_is_busy_then_wraps_up_after_the_call():
    eng, clock = one_queue("anna")
    logged_in(eng, "anna")
    assert eng.adopt_connected("c1", "q", "anna", enqueued_at=clock.now - 30, answered_at=clock.now - 20) == []
    assert eng.operator_status("anna") is OperatorStatus.ON_CALL
    assert eng.enqueue("c2", "q") == []  # no offer to a busy operator
    clock.advance(10)
    ended = eng.call_ended("c1")
    assert Finished("c1", "q", Outcome.COMPLETED) in ended
    assert OperatorState("anna", OperatorStatus.WRAPUP) in ended
    offers = of_type(advance(eng, clock, 5.0), Offer)
    assert [(o.call_id, o.operator) for o in offers] == [("c2", "anna")]


def test_a_paused_operator_found_talking_is_paused_again_after_wrap_up():
    eng, clock = one_queue("anna")
    logged_in(eng, "anna", ready=False)
    eng.adopt_connected("c1", "q", "anna", enqueued_at=clock.now, answered_at=clock.now)
    eng.call_ended("c1")
    assert eng.operator_status("anna") is OperatorStatus.WRAPUP
    assert OperatorState("anna", OperatorStatus.PAUSED, "logged in") in advance(eng, clock, 5.0)


def test_a_logged_out_operator_found_talking_is_logged_in_and_busy():
    eng, clock = one_queue("anna")
    out = eng.adopt_connected("c1", "q", "anna", enqueued_at=clock.now, answered_at=clock.now)
    assert OperatorState("anna", OperatorStatus.PAUSED, "logged in") in out
    assert eng.operator_status("anna") is OperatorStatus.ON_CALL


def test_adopting_a_known_call_or_a_busy_operator_is_refused():
    eng, clock = one_queue("anna")
    logged_in(eng, "anna")
    eng.adopt_connected("c1", "q", "anna", enqueued_at=clock.now, answered_at=clock.now)
    with pytest.raises(EngineError):
        eng.adopt_connected("c1", "q", "anna", enqueued_at=clock.now, answered_at=clock.now)
    with pytest.raises(EngineError):
        eng.adopt_connected("c2", "q", "anna", enqueued_at=clock.now, answered_at=clock.now)
    with pytest.raises(EngineError):
        eng.adopt_connected("c3", "nope", "anna", enqueued_at=clock.now, answered_at=clock.now)
