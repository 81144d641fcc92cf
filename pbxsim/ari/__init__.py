"""pbxsim's ARI: REST routes, models and the events WebSocket over ``pbxsim.world``."""

from pbxsim.ari.app import create_ari_app
from pbxsim.ari.http import AriCredential

__all__ = ["AriCredential", "create_ari_app"]
