"""The simulated Asterisk's state and behaviour (see ``world.World``)."""

from pbxsim.world.behaviour import CallerBehaviour, DtmfPlan, NumberBehaviour, PhoneBehaviour
from pbxsim.world.channel import Channel
from pbxsim.world.errors import OperationError
from pbxsim.world.world import DialplanRunner, World

__all__ = [
    "CallerBehaviour",
    "Channel",
    "DialplanRunner",
    "DtmfPlan",
    "NumberBehaviour",
    "OperationError",
    "PhoneBehaviour",
    "World",
]
