"""Capacity planning on the real ACD engine: a discrete-event simulation.

Pure logic (no click, no I/O): ``simulate(config, SimParams(...))`` drives the same
``Engine`` the server runs, on a virtual clock, with Poisson arrivals, a handle-time
distribution, caller patience and operators' shifts, and returns a ``SimReport``
(service level, ASA, AHT, abandonment, occupancy, EWT accuracy). ``erlang`` has the
textbook formulas to compare with.
"""

from ari_app.simulate.erlang import ErlangC, agents_needed, predict
from ari_app.simulate.metrics import EwtAccuracy, PoolReport, QueueReport, SimReport
from ari_app.simulate.runner import Simulation, VirtualClock, simulate
from ari_app.simulate.staffing import mean_staffing, staffed_config
from ari_app.simulate.plan import plan_run, plan_traffic
from ari_app.simulate.traffic import HandleDist, HandleTime, QueueTraffic, SimParams

__all__ = [
    "ErlangC",
    "EwtAccuracy",
    "HandleDist",
    "HandleTime",
    "PoolReport",
    "QueueReport",
    "QueueTraffic",
    "SimParams",
    "SimReport",
    "Simulation",
    "VirtualClock",
    "agents_needed",
    "mean_staffing",
    "plan_run",
    "plan_traffic",
    "predict",
    "simulate",
    "staffed_config",
]
