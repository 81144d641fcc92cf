"""``switchboard simulate``: the capacity simulator on the real ACD engine.

- Erlang C: the single-queue M/M/N case must reproduce the textbook formulas.
- Determinism by seed; abandonment and staffing move the figures the right way.
- EWT accuracy: ours vs app_queue's formula on the same traffic.
- Shifts, staffing overrides, missed offers and auto-pause.
- The CLI through the real entry point, with ``--json``.
"""

from __future__ import annotations

import heapq
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from ari_app.config.model import Shift
from ari_app.simulate import (
    HandleTime,
    QueueTraffic,
    SimParams,
    SimReport,
    Simulation,
    plan_run,
    simulate,
    staffed_config,
)
from ari_app.simulate import erlang
from ari_app.simulate.staffing import synthetic_login, work_intervals
from ari_app.simulate.text import format_report
from acd_support import config, operator, queue

ROOT = Path(__file__).resolve().parent.parent


def one_queue(n: int, *, wrapup: float = 0, name: str = "q", **queue_fields: object):
    return config(
        [queue(name, wrapup=wrapup, announce_every=30, **queue_fields)],
        [operator(f"op{i:02d}", [name]) for i in range(n)],
    )


def traffic(rate: float, talk: float = 180, *, patience: float | None = None, delay: float = 0.0, **kw: object):
    return QueueTraffic(rate, HandleTime(talk), patience=patience, answer_delay=delay, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------ Erlang C


def test_erlang_c_formulas_against_hand_values() -> None:
    # N=2, A=1: C = (A^N/N! · N/(N−A)) / (1 + A + A^N/N! · N/(N−A)) = 1 / 3.
    assert erlang.wait_probability(2, 1.0) == pytest.approx(1 / 3)
    # The stable recursion agrees with the direct sum for a realistic case.
    n, a = 18, 15.0
    top = a**n / math.factorial(n) * n / (n - a)
    direct = top / (sum(a**k / math.factorial(k) for k in range(n)) + top)
    assert erlang.wait_probability(n, a) == pytest.approx(direct, rel=1e-12)
    assert erlang.average_speed_of_answer(n, a, 180) == pytest.approx(direct * 180 / 3)
    assert erlang.service_level(n, a, 180, 20) == pytest.approx(1 - direct * math.exp(-3 * 20 / 180))
    assert erlang.wait_probability(15, 15.0) == 1.0  # overloaded: everybody waits
    # Staffing advice: the smallest N that reaches the target.
    need = erlang.agents_needed(300, 180, threshold=20, target=0.8)
    assert erlang.service_level(need, 15.0, 180, 20) >= 0.8 > erlang.service_level(need - 1, 15.0, 180, 20)
    assert need == 19


@pytest.mark.slow
def test_single_queue_matches_erlang_c() -> None:
    """M/M/18 at 15 Erlangs (300 calls/h × 180 s): no wrap-up, no ring, no misses,
    nobody hangs up — exactly Erlang C's model, run through the real engine.

    40 simulated hours (~12,000 calls, ~1 s). The tolerance is for this seed: across
    seeds 1–20 the relative errors had sd ≈ 9 % (P(wait)), 19 % (ASA: waits are heavily
    autocorrelated at 83 % load) and 4 % (SL), with means within ±4 % of Erlang C.
    """
    cfg = one_queue(18)
    params = SimParams({"q": traffic(300)}, hours=40, seed=1)
    report = simulate(cfg, params)
    q = report.queue("q")
    ec = erlang.predict(300, 180, 18, threshold=20)
    assert q.erlang_c == ec  # dedicated, always-on staff: the report carries the prediction
    print(
        f"\nErlang C vs simulated ({q.offered} calls): P(wait) {ec.wait_probability:.3f} vs "
        f"{q.wait_probability:.3f}, ASA {ec.asa:.1f} vs {q.asa:.1f} s, SL {ec.service_level:.3f} vs "
        f"{q.service_level:.3f}, occupancy {ec.occupancy:.3f} vs {q.occupancy:.3f}"
    )
    assert q.abandoned == 0 and q.unfinished == 0 and q.answered == q.offered
    assert q.wait_probability == pytest.approx(ec.wait_probability, rel=0.10)
    assert q.asa == pytest.approx(ec.asa, rel=0.15)
    assert q.service_level == pytest.approx(ec.service_level, rel=0.05)
    assert q.occupancy == pytest.approx(ec.occupancy, rel=0.03)
    assert q.aht == pytest.approx(180, rel=0.03)


@pytest.mark.parametrize("ring, wrapup", [(0, 0), (3, 20)])
def test_every_wait_is_exactly_a_fifo_multiserver_queue(ring: float, wrapup: float) -> None:
    """With FIFO service and talk times fixed per caller at arrival, each caller's wait
    follows from arrivals and talk times alone (whoever answers): the earliest moment
    one of N operators is free. The engine-driven loop must reproduce that recursion
    for every single call — no lost wake-ups, no double offers, no time drift."""
    sim = Simulation(one_queue(10, wrapup=wrapup), SimParams({"q": traffic(160, 160, delay=ring)}, hours=12))
    sim.run()
    free = [0.0] * 10
    for call in sim.calls:
        start = max(heapq.heappop(free), call.arrived)
        heapq.heappush(free, start + ring + call.talk + wrapup)
        assert call.answered_at is not None
        assert call.answered_at - call.arrived == pytest.approx(start - call.arrived + ring, abs=1e-6), call.id
    assert len(sim.calls) > 1500


def test_erlang_c_with_ring_time_and_wrapup() -> None:
    """Ring time occupies the operator and is part of the caller's wait: with a 3 s ring
    the simulation still matches Erlang C once both count it. A constant wrap-up makes
    the service time less variable than exponential (M/G/N), so Erlang C becomes the
    pessimistic side: over 10 seeds × 24 h, ASA 23 s simulated vs 28.5 s predicted."""
    ring_only = simulate(one_queue(10), SimParams({"q": traffic(150, 160, delay=3)}, hours=24, seed=1)).queue("q")
    ec = ring_only.erlang_c
    assert ec is not None and ec.load == pytest.approx(150 * (160 + 3) / 3600) and ec.ring == 3
    assert ring_only.service_level == pytest.approx(ec.service_level, abs=0.03)
    assert ring_only.asa == pytest.approx(ec.asa, rel=0.25)
    assert ring_only.asa >= 3  # everyone hears the ring
    wrapped = simulate(one_queue(10, wrapup=20), SimParams({"q": traffic(150, 160, delay=3)}, hours=24, seed=1))
    q = wrapped.queue("q")
    assert q.erlang_c is not None and q.erlang_c.load == pytest.approx(150 * (160 + 20 + 3) / 3600)
    assert q.wrapup == pytest.approx(20) and q.aht == pytest.approx(q.talk + 20)
    assert q.asa < q.erlang_c.asa and q.service_level > q.erlang_c.service_level - 0.02


# -------------------------------------------------------------- behaviour


def small_center():
    return one_queue(8, wrapup=10)


def test_same_seed_same_results_other_seed_other_results() -> None:
    cfg = small_center()
    params = SimParams({"q": traffic(150, 170, patience=90, delay=2)}, hours=3, seed=7)
    first = simulate(cfg, params).to_dict()
    again = simulate(cfg, params).to_dict()
    assert first == again
    assert json.dumps(first) == json.dumps(again)
    other = simulate(cfg, SimParams(params.traffic, hours=3, seed=8)).to_dict()
    assert other != first
    assert other["total"]["offered"] != first["total"]["offered"]


def test_less_patience_means_more_abandonment() -> None:
    cfg = small_center()
    rates = []
    for patience in (600, 120, 30):
        q = simulate(cfg, SimParams({"q": traffic(170, 170, patience=patience, delay=2)}, hours=6)).queue("q")
        rates.append(q.abandon_rate)
    assert rates[0] < rates[1] < rates[2]
    assert rates[2] > 0.1


def test_more_operators_better_service_level() -> None:
    """Same callers (per-queue random streams) for every staffing level."""
    tr = {"q": traffic(300, 180, patience=180, delay=2)}
    levels = []
    for n in (15, 17, 19, 22):
        q = simulate(one_queue(n, wrapup=5), SimParams(tr, hours=6, seed=2)).queue("q")
        levels.append((q.service_level, q.asa, q.abandon_rate))
    sl = [x[0] for x in levels]
    asa = [x[1] for x in levels]
    assert sl == sorted(sl) and len(set(sl)) == 4 and sl[0] < 0.7 and sl[-1] > 0.95
    assert asa == sorted(asa, reverse=True)
    assert levels[0][2] > levels[-1][2]  # fewer callers give up


def test_staff_override_replaces_operators_of_that_queue_only() -> None:
    cfg = config(
        [queue("sales"), queue("support")],
        [operator("anna", ["sales", "support"]), operator("john", ["sales"]), operator("olga", ["support"])],
    )
    staffed = staffed_config(cfg, {"sales": 3})
    assert list(staffed.operators) == ["anna", "olga", *(synthetic_login("sales", i) for i in (1, 2, 3))]
    assert staffed.operators["anna"].queues == ("support",)
    assert [o.login for o in staffed.members("sales")] == [synthetic_login("sales", i) for i in (1, 2, 3)]
    with pytest.raises(ValueError, match="no queue named 'nope'"):
        staffed_config(cfg, {"nope": 1})
    # In a run: the report's sales queue has exactly the synthetic operators.
    params = SimParams(
        {"sales": traffic(40, 120, delay=2), "support": traffic(20, 120, delay=2)}, hours=2, staff={"sales": 3}
    )
    report = simulate(cfg, params)
    assert report.queue("sales").operators == 3 and report.queue("sales").erlang_c is not None
    # anna now serves support only, and nobody has shifts: support is Erlang C's case too.
    support = report.queue("support")
    assert support.operators == 2 and support.erlang_c is not None and support.erlang_c.agents == 2
    assert [p.queues for p in report.pools] == [("support",), ("sales",)]


def test_shifts_log_operators_in_and_out() -> None:
    """One operator 09:00–10:00, another 09:30–11:00; the run starts at 09:00 for 2.5 h."""
    cfg = config(
        [queue("q", announce_every=30, wrapup=0)],
        [
            operator("early", ["q"], shifts=(Shift(9 * 60, 10 * 60),)),
            operator("late", ["q"], shifts=(Shift(9 * 60 + 30, 11 * 60),)),
        ],
    )
    assert work_intervals(cfg.operators["late"], 9 * 60, 2.5 * 3600) == [(1800.0, 7200.0)]
    params = SimParams({"q": traffic(30, 60, patience=300, delay=1)}, hours=2.5, warmup=0)
    report = simulate(cfg, params)
    q = report.queue("q")
    # Logged-in time: early 1 h + late 1.5 h (a call in progress keeps them a bit longer).
    assert q.staffed_hours == pytest.approx(2.5, abs=0.1)
    assert q.nobody_on_shift > 0  # after 11:00 nobody works the queue
    assert q.answered > 0
    # Across midnight: 22:00–02:00 read from a 21:00 start.
    night = operator("n", ["q"], shifts=(Shift(22 * 60, 2 * 60),))
    assert work_intervals(night, 21 * 60, 6 * 3600) == [(3600.0, 5 * 3600.0)]
    # Touching shifts merge into one stretch.
    split = operator("s", ["q"], shifts=(Shift(8 * 60, 12 * 60), Shift(12 * 60, 13 * 60)))
    assert work_intervals(split, 8 * 60, 8 * 3600) == [(0.0, 5 * 3600.0)]


def test_missed_offers_auto_pause_and_come_back() -> None:
    cfg = one_queue(6, wrapup=5, auto_pause_after=2, ring_timeout=10)
    tr = traffic(80, 150, patience=600, delay=2, miss_probability=0.4)
    params = SimParams({"q": tr}, hours=4, autopause_return=60)
    q = simulate(cfg, params).queue("q")
    baseline = simulate(cfg, SimParams({"q": traffic(80, 150, patience=600, delay=2)}, hours=4)).queue("q")
    assert q.answered > 0.9 * q.offered  # auto-paused operators came back
    assert q.asa > baseline.asa + 5  # each miss costs the caller a ring timeout


def test_overflow_and_max_wait_are_counted() -> None:
    from ari_app.config.model import MaxWait, Overflow

    cfg = one_queue(
        2, overflow=Overflow(after=60, numbers=("+74950000000",)), max_wait=MaxWait(after=180)
    )
    q = simulate(cfg, SimParams({"q": traffic(60, 180, delay=1)}, hours=3)).queue("q")
    assert q.overflowed > 0 and q.expired > 0
    assert q.longest_wait == pytest.approx(180, abs=1e-6)
    assert q.answered + q.expired + q.abandoned == q.offered


def test_metrics_definitions_on_the_records() -> None:
    report = simulate(small_center(), SimParams({"q": traffic(170, 170, patience=60, delay=2)}, hours=4))
    q = report.queue("q")
    assert q.offered == q.answered + q.abandoned + q.expired + q.nobody_on_shift + q.unfinished
    assert 0 < q.service_level < 1 and 0 < q.abandon_rate < 1
    assert q.aht == pytest.approx(q.talk + q.wrapup)
    assert 0 < q.occupancy <= 1
    assert report.pools[0].occupancy == pytest.approx(q.occupancy)
    assert report.warmup == 15 * 60 and report.calls > q.offered  # warm-up calls not counted


# -------------------------------------------------------------------- EWT


@pytest.mark.slow
def test_ewt_ours_beats_app_queue_on_a_busy_small_team() -> None:
    """6 operators at ~80 % occupancy, waits of a minute and more: position matters,
    and app_queue tells the 1st and the 10th caller the same number."""
    cfg = one_queue(6, wrapup=10)
    tr = traffic(110, 170, patience=600, delay=2)
    results = []
    for seed in (1, 2, 3):
        e = simulate(cfg, SimParams({"q": tr}, hours=8, seed=seed)).total.ewt
        results.append(e)
        print(
            f"\nseed {seed}: EWT MAE switchboard {e.mae_switchboard:.1f} s, "
            f"app_queue {e.mae_app_queue:.1f} s over {e.announcements} announcements"
        )
        assert e.announcements > 200 and e.unknown == 0
        assert e.mae_switchboard < 0.85 * e.mae_app_queue


@pytest.mark.slow
def test_ewt_large_group_short_waits() -> None:
    cfg = one_queue(40, wrapup=10)
    tr = QueueTraffic(760, HandleTime(170, 0.5, "lognormal"), patience=120, answer_delay=2)
    e = simulate(cfg, SimParams({"q": tr}, hours=4, seed=1)).total.ewt
    print(f"\n40 operators: EWT MAE switchboard {e.mae_switchboard:.1f} s, app_queue {e.mae_app_queue:.1f} s")
    assert e.announcements > 200
    assert e.mae_switchboard < 0.75 * e.mae_app_queue


# --------------------------------------------------------------- planning


def test_default_traffic_is_80_percent_of_staffing() -> None:
    cfg = config(
        [queue("sales", wrapup=15, expected_handle_time=180), queue("support", expected_handle_time=300)],
        [
            operator("a", ["sales", "support"]),
            operator("b", ["sales"]),
            operator("c", ["support"], shifts=(Shift(9 * 60, 13 * 60),)),
        ],
    )
    params = plan_run(cfg, hours=8, rates={"support": 12})
    sales = params.traffic["sales"]
    # a counts half for sales; b fully: 1.5 operators × 3600/180 × 0.8 = 24 calls/h.
    assert sales.calls_per_hour == pytest.approx(24)
    assert sales.handle.mean == 165  # expected_handle_time − wrapup
    assert params.traffic["support"].calls_per_hour == 12
    with pytest.raises(ValueError, match="no queue named"):
        plan_run(cfg, rates={"nope": 1})
    lognormal = plan_run(cfg, handle_cv=0.6).traffic["sales"].handle
    assert lognormal.dist.value == "lognormal" and lognormal.cv == 0.6
    with pytest.raises(ValueError, match="exponential"):
        plan_run(cfg, handle_cv=0.6, handle_dist="exp")


def test_lognormal_talk_time_has_the_asked_mean_and_cv() -> None:
    import random
    import statistics

    h = HandleTime(200, 0.5, "lognormal")  # type: ignore[arg-type]
    rng = random.Random(5)
    xs = [h.sample(rng) for _ in range(40_000)]
    assert statistics.fmean(xs) == pytest.approx(200, rel=0.02)
    assert statistics.pstdev(xs) / statistics.fmean(xs) == pytest.approx(0.5, rel=0.03)


def test_text_report_reads_well() -> None:
    cfg = config(
        [queue("sales", announce_every=30), queue("support", announce_every=30)],
        [operator("a", ["sales", "support"]), operator("b", ["sales"]), operator("c", ["support"])],
    )
    params = plan_run(cfg, hours=2, rates={"sales": 50, "support": 25}, staff={})
    text = format_report(simulate(cfg, params), wall_seconds=0.5)
    lines = text.splitlines()
    assert any(line.startswith("sales ") for line in lines)
    assert any(line.startswith("total ") for line in lines)
    assert "EWT mean absolute error: switchboard " in text and " app_queue " in text
    assert "Erlang C, operators needed for 80/20" in text
    assert "calls/s" in text


# -------------------------------------------------------------------- CLI

TINY_YAML = """\
defaults:
  announce_every: 30
queues:
  sales:
    wrapup: 5
    expected_handle_time: 120
  support:
    expected_handle_time: 200
operators:
  anna:
    extension: 1001
    skills: {sales: 5, support: 5}
  john:
    extension: 1002
    skills: {sales: 7}
  olga:
    extension: 1003
    skills: {support: 7}
    shifts: ["09:00-12:00"]
"""


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ari_app.cli", "simulate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


@pytest.mark.slow
def test_cli_json_through_the_entry_point(tmp_path: Path) -> None:
    cfg = tmp_path / "center.yaml"
    cfg.write_text(TINY_YAML, encoding="utf-8")
    args = ["--config", str(cfg), "--hours", "4", "--rate", "sales=60", "--staff", "sales=4", "--json"]
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    names = [q["queue"] for q in data["queues"]]
    assert names == ["sales", "support"]
    sales = data["queues"][0]
    assert data["traffic"]["sales"]["calls_per_hour"] == 60
    assert sales["operators"] == 4 and sales["erlang_c"]["agents"] == 4
    assert sales["offered"] > 150 and 0 <= sales["service_level"] <= 1
    assert data["total"]["ewt"]["announcements"] >= 0
    assert data["seed"] == 1 and data["warmup"] == 15 * 60  # 10 % of 4 h, at most 15 min
    # Same seed, same output, byte for byte.
    assert run_cli(*args, cwd=tmp_path).stdout == done.stdout
    # The table.
    table = run_cli("--config", str(cfg), "--hours", "2", "--seed", "3", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "SL 20s" in table.stdout and "EWT mean absolute error" in table.stdout
    # Mistakes are usage errors, not tracebacks.
    bad = run_cli("--config", str(cfg), "--rate", "nope=3", cwd=tmp_path)
    assert bad.returncode == 2 and "no queue named 'nope'" in bad.stderr
    bad = run_cli("--config", str(cfg), "--staff", "sales=many", cwd=tmp_path)
    assert bad.returncode == 2 and "QUEUE=N" in bad.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("queues: [\n", encoding="utf-8")
    bad = run_cli("--config", str(broken), cwd=tmp_path)
    assert bad.returncode == 1 and "broken.yaml:" in bad.stderr


def test_report_json_is_plain() -> None:
    report: SimReport = simulate(one_queue(2), SimParams({"q": traffic(10, 100)}, hours=1))
    data = report.to_dict()
    text = json.dumps(data, allow_nan=False)  # no inf/NaN leaks into JSON
    assert json.loads(text)["queues"][0]["queue"] == "q"
