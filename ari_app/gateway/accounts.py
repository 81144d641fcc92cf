"""Operator accounts in the store: what ``switchboard operators`` and the gateway's login do.

The admin YAML says who the operators are (login, name, extension, skills); the
``operators`` table holds only their credentials: a scrypt hash and a disabled
flag. An operator must be in the YAML to get an account, and to log in.

Invitations replace open sign-up: ``invite`` stores the SHA-256 of a one-time code
with an expiry and returns the code to hand to the operator. Their console logs in
with ``invite_code`` and a new ``password``; that sets the password, spends the code
(and every other code of that operator) and logs them in. A password login never
accepts a code, and a code works once.

Synchronous functions are for the CLI (they block on the store); ``authenticate``
is for the event loop (the scrypt work runs in a thread).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from ari_app.config.model import Config
from ari_app.gateway import auth
from ari_app.store import Store

WRITE_TIMEOUT = 30.0


class AccountError(Exception):
    """A refused account change; the message says why, for the admin."""


@dataclass(frozen=True)
class Account:
    """One row of ``switchboard operators list``."""

    login: str
    name: str | None
    extension: str | None
    has_password: bool
    disabled: bool
    invited_until: float | None  # the latest unused, unexpired invitation's expiry
    in_config: bool


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    reason: str = ""


def _row(db: Any, login: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM operators WHERE login = ?", [login]))
    return rows[0] if rows else None


def _known(config: Config, login: str) -> None:
    if login not in config.operators:
        known = ", ".join(sorted(config.operators)) or "none"
        raise AccountError(f"no operator {login!r} in the config (known: {known}); add them there first")


def _checked(password: str) -> str:
    problem = auth.password_problem(password)
    if problem:
        raise AccountError(problem)
    return password


def _profile(config: Config, login: str) -> dict[str, Any]:
    op = config.operators[login]
    return {"login": login, "name": op.name, "extension": op.extension}


def add_operator(store: Store, config: Config, login: str, password: str) -> None:
    """Give an operator of the config an account with ``password``."""
    _known(config, login)
    existing = store.read_blocking(lambda db: _row(db, login))
    if existing is not None and existing["password_hash"]:
        raise AccountError(f"operator {login!r} has an account already: use `switchboard operators passwd`")
    row = {**_profile(config, login), "password_hash": auth.hash_password(_checked(password)),
           "disabled": 0, "updated_at": time.time()}
    store.upsert("operators", row, key="login").result(WRITE_TIMEOUT)


def set_password(store: Store, login: str, password: str) -> None:
    """Change an existing account's password."""
    if store.read_blocking(lambda db: _row(db, login)) is None:
        raise AccountError(f"operator {login!r} has no account: use `switchboard operators add` or `invite`")
    hashed = auth.hash_password(_checked(password))
    store.update("operators", login, {"password_hash": hashed, "updated_at": time.time()},
                 key="login").result(WRITE_TIMEOUT)


def set_disabled(store: Store, login: str, disabled: bool) -> None:
    """Disable (no more logins) or enable an account."""
    if store.read_blocking(lambda db: _row(db, login)) is None:
        raise AccountError(f"operator {login!r} has no account")
    store.update("operators", login, {"disabled": int(disabled), "updated_at": time.time()},
                 key="login").result(WRITE_TIMEOUT)


def invite(store: Store, config: Config, login: str, hours: float, now: float | None = None) -> str:
    """A one-time code with which ``login`` sets their password at their first login."""
    _known(config, login)
    if hours <= 0:
        raise AccountError("the invitation must last a positive number of hours")
    now = time.time() if now is None else now
    code = auth.new_invite_code()
    existing = store.read_blocking(lambda db: _row(db, login))
    profile = {**_profile(config, login), "updated_at": now}
    if existing is None:
        profile["disabled"] = 0
    store.upsert("operators", profile, key="login")
    store.insert("invitations", {"login": login, "code_hash": auth.hash_invite_code(code),
                                 "created_at": now, "expires_at": now + hours * 3600}).result(WRITE_TIMEOUT)
    return code


def list_accounts(store: Store, config: Config, now: float | None = None) -> list[Account]:
    """Every operator of the config and every account, sorted by login."""
    now = time.time() if now is None else now

    def query(db: Any) -> tuple[list[dict[str, Any]], dict[str, float]]:
        rows = list(db.query("SELECT login, name, extension, password_hash, disabled FROM operators"))
        invites = {r["login"]: r["until"] for r in db.query(
            "SELECT login, MAX(expires_at) AS until FROM invitations"
            " WHERE used_at IS NULL AND expires_at > ? GROUP BY login", [now])}
        return rows, invites
    rows, invites = store.read_blocking(query)
    by_login = {r["login"]: r for r in rows}
    accounts = []
    for login in sorted(set(by_login) | set(config.operators)):
        row = by_login.get(login, {})
        op = config.operators.get(login)
        accounts.append(Account(login, row.get("name") or (op.name if op else None),
                                row.get("extension") or (op.extension if op else None),
                                bool(row.get("password_hash")), bool(row.get("disabled")),
                                invites.get(login), op is not None))
    return accounts


async def authenticate(store: Store, config: Config, login: str, password: str, *,
                       invite_code: str | None = None, now: float | None = None) -> LoginResult:
    """Check a console's login. With ``invite_code``, ``password`` is the new password
    to set: the code must be unused and unexpired. The reasons are deliberately vague
    to the console ("wrong operator or password") except for a disabled account or a
    refused new password, which the operator can act on."""
    now = time.time() if now is None else now
    wrong = LoginResult(False, "wrong operator or password")
    if login not in config.operators:
        return wrong
    row = await store.read(lambda db: _row(db, login))
    if row is None:
        return wrong
    if row["disabled"]:
        return LoginResult(False, "this operator is disabled")
    if invite_code is None:
        ok = await asyncio.to_thread(auth.verify_password, password, row["password_hash"])
        return LoginResult(True) if ok else wrong
    code_hash = auth.hash_invite_code(invite_code)

    def find(db: Any) -> dict[str, Any] | None:
        rows = list(db.query("SELECT * FROM invitations WHERE login = ? AND code_hash = ?", [login, code_hash]))
        return rows[0] if rows else None
    invitation = await store.read(find)
    if invitation is None or invitation["used_at"] is not None or invitation["expires_at"] <= now:
        return LoginResult(False, "wrong, used or expired invitation code")
    problem = auth.password_problem(password)
    if problem:
        return LoginResult(False, problem)
    hashed = await asyncio.to_thread(auth.hash_password, password)

    def redeem(db: Any) -> bool:
        spent = db.conn.execute("UPDATE invitations SET used_at = ? WHERE id = ? AND used_at IS NULL",
                                [now, invitation["id"]]).rowcount
        if not spent:
            return False  # a concurrent login spent it first
        db.conn.execute("UPDATE invitations SET used_at = ? WHERE login = ? AND used_at IS NULL", [now, login])
        db.conn.execute("UPDATE operators SET password_hash = ?, updated_at = ? WHERE login = ?",
                        [hashed, now, login])
        return True
    if not await store.write(redeem):
        return LoginResult(False, "wrong, used or expired invitation code")
    return LoginResult(True)
