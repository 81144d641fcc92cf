"""Stasis applications and what each is subscribed to.

Subscriptions are keyed by ARI event-source URIs (``channel:<id>``, ``bridge:<id>``,
``endpoint:PJSIP/1001``, ``endpoint:PJSIP``, ``deviceState:<name>``, and pbxsim's own
``playback:<id>`` / ``recording:<name>`` for the app that started one) and are
reference-counted, as in Asterisk's ``app.c``: a channel entering Stasis subscribes its
app once, an ``app=`` originate subscribes it once more (which is why an originated
channel's ``ChannelDestroyed`` still reaches the app after ``StasisEnd`` while an
inbound channel's does not), and a channel joining a bridge subscribes its app to the
bridge until it is moved or removed (not when it hangs up inside it, which is why
``BridgeDestroyed`` arrives for some bridges and not for others).

A connection ("sink") is whatever the ARI layer registered; the registry only keeps it
so that events go to the newest connection of an app name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StasisApp:
    name: str
    sink: Any = None  # the ARI connection receiving this app's events; None = not connected
    subscribe_all: bool = False
    keys: Counter[str] = field(default_factory=Counter)

    @property
    def active(self) -> bool:
        return self.sink is not None


class StasisRegistry:
    def __init__(self) -> None:
        self.apps: dict[str, StasisApp] = {}
        self._by_key: dict[str, Counter[str]] = {}
        self._all: set[str] = set()  # active apps with subscribeAll

    # --- connections -------------------------------------------------------------
    def connect(self, name: str, sink: Any, subscribe_all: bool = False) -> Any:
        """Register ``sink`` for ``name``; returns the sink it replaced (it gets
        ApplicationReplaced) or None."""
        app = self.apps.get(name)
        if app is None:
            app = self.apps[name] = StasisApp(name)
        previous = app.sink
        app.sink = sink
        app.subscribe_all = subscribe_all
        if subscribe_all:
            self._all.add(name)
        else:
            self._all.discard(name)
        return previous

    def disconnect(self, name: str, sink: Any) -> None:
        """The connection closed. Channels in Stasis stay (and stay subscribed), but new
        ``Stasis()`` calls for the app fail until a client connects again."""
        app = self.apps.get(name)
        if app is not None and app.sink is sink:
            app.sink = None
            self._all.discard(name)

    def is_active(self, name: str) -> bool:
        app = self.apps.get(name)
        return app is not None and app.active

    def sink(self, name: str) -> Any:
        app = self.apps.get(name)
        return app.sink if app is not None else None

    # --- subscriptions -----------------------------------------------------------
    def subscribe(self, app_name: str, key: str) -> None:
        app = self.apps.get(app_name)
        if app is None:
            app = self.apps[app_name] = StasisApp(app_name)
        app.keys[key] += 1
        self._by_key.setdefault(key, Counter())[app_name] += 1

    def unsubscribe(self, app_name: str, key: str, *, all_refs: bool = False) -> bool:
        """Drop one reference (or all); False if the app was not subscribed."""
        app = self.apps.get(app_name)
        if app is None or app.keys.get(key, 0) <= 0:
            return False
        n = app.keys[key] if all_refs else 1
        app.keys[key] -= n
        if app.keys[key] <= 0:
            del app.keys[key]
        counter = self._by_key.get(key)
        if counter is not None:
            counter[app_name] -= n
            if counter[app_name] <= 0:
                del counter[app_name]
            if not counter:
                del self._by_key[key]
        return True

    def drop_key(self, key: str) -> None:
        """The source is gone: forget every subscription to it."""
        counter = self._by_key.pop(key, None)
        if not counter:
            return
        for app_name in counter:
            app = self.apps.get(app_name)
            if app is not None:
                app.keys.pop(key, None)

    def is_subscribed(self, app_name: str, key: str) -> bool:
        counter = self._by_key.get(key)
        return bool(counter and counter.get(app_name, 0) > 0)

    def apps_for(self, *keys: str) -> set[str]:
        """Active apps that get an event about these sources (subscribeAll apps get all)."""
        out = set(self._all)
        for key in keys:
            counter = self._by_key.get(key)
            if counter:
                out.update(counter)
        return {name for name in out if self.is_active(name)}

    def keys_of(self, app_name: str, prefix: str) -> list[str]:
        app = self.apps.get(app_name)
        if app is None:
            return []
        return [k[len(prefix):] for k in app.keys if k.startswith(prefix)]
