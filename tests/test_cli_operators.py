"""``switchboard operators``: accounts in the store the server settings name.

Through click's CliRunner (add with a prompted and confirmed password, passwd from
stdin, disable/enable, invite printing a code that the gateway's login redeems once,
list, refusals for operators not in the config) and once through the real entry
point."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from ari_app.cli import main
from ari_app.config import load_config
from ari_app.gateway import accounts, auth
from ari_app.store import Store
from center_support import CENTER, settings_file

BIN = Path(sys.executable).parent


def invoke(tmp_path: Path, *args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["operators", "--server", str(settings_file(tmp_path)), *args], input=input)
    return result.exit_code, result.output


def account(tmp_path: Path, login: str) -> dict[str, object]:
    with Store(tmp_path / "store.sqlite3") as store:
        rows = store.query("SELECT * FROM operators WHERE login = ?", [login])
    return rows[0] if rows else {}


def listed(tmp_path: Path, login: str) -> str:
    """The operator's line in ``switchboard operators list``."""
    code, out = invoke(tmp_path, "list")
    assert code == 0, out
    return next(line for line in out.splitlines() if line.split()[0] == login)


def test_add_prompts_twice_and_stores_a_scrypt_hash(tmp_path: Path) -> None:
    code, out = invoke(tmp_path, "add", "anna", input="anna-password\nanna-password\n")
    assert code == 0, out
    assert "account added" in out and "anna-password" not in out
    row = account(tmp_path, "anna")
    assert str(row["password_hash"]).startswith("scrypt$") and row["extension"] == "1001"
    assert auth.verify_password("anna-password", str(row["password_hash"]))

    code, out = invoke(tmp_path, "add", "anna", input="other-password\nother-password\n")
    assert code == 1 and "passwd" in out  # already has one


def test_add_refuses_an_operator_missing_from_the_config_and_a_short_password(tmp_path: Path) -> None:
    code, out = invoke(tmp_path, "add", "mallory", "--password-stdin", input="long-enough-pw\n")
    assert code == 1 and "no operator 'mallory' in the config" in out
    code, out = invoke(tmp_path, "add", "john", "--password-stdin", input="short\n")
    assert code == 1 and "at least 8" in out
    assert account(tmp_path, "john") == {}


def test_passwd_disable_enable_and_list(tmp_path: Path) -> None:
    assert invoke(tmp_path, "add", "john", "--password-stdin", input="john-password\n")[0] == 0
    code, out = invoke(tmp_path, "passwd", "john", "--password-stdin", input="john-new-password\n")
    assert code == 0, out
    assert auth.verify_password("john-new-password", str(account(tmp_path, "john")["password_hash"]))
    assert invoke(tmp_path, "passwd", "olga", "--password-stdin", input="olga-password\n")[0] == 1

    assert invoke(tmp_path, "disable", "john")[0] == 0
    assert account(tmp_path, "john")["disabled"] == 1
    assert "disabled" in listed(tmp_path, "john") and "no account" in listed(tmp_path, "anna")
    assert invoke(tmp_path, "enable", "john")[0] == 0
    assert "active" in listed(tmp_path, "john")


def test_invite_prints_a_code_the_login_redeems_once(tmp_path: Path) -> None:
    code, out = invoke(tmp_path, "invite", "olga", "--expires", "2")
    assert code == 0, out
    invitation = out.strip().splitlines()[-1]
    assert len(invitation) >= 20
    assert "invited" in listed(tmp_path, "olga")
    config = load_config(CENTER)

    async def logins() -> list[accounts.LoginResult]:
        async with Store(tmp_path / "store.sqlite3") as store:
            return [await accounts.authenticate(store, config, "olga", "olga-chosen-pw", invite_code=invitation),
                    await accounts.authenticate(store, config, "olga", "again-chosen-pw", invite_code=invitation),
                    await accounts.authenticate(store, config, "olga", "olga-chosen-pw")]
    first, reused, password = asyncio.run(logins())
    assert first.ok and not reused.ok and password.ok

    with Store(tmp_path / "store.sqlite3") as store:  # an expired code
        late = accounts.invite(store, config, "dmitry", 1, now=0.0)

        async def expired() -> accounts.LoginResult:
            return await accounts.authenticate(store, config, "dmitry", "dmitry-pw-123", invite_code=late)
        assert "expired" in asyncio.run(expired()).reason


def test_operators_through_the_real_entry_point(tmp_path: Path) -> None:
    settings = settings_file(tmp_path)
    add = subprocess.run([str(BIN / "switchboard"), "operators", "--server", str(settings), "add", "anna",
                          "--password-stdin"], input="anna-password\n", capture_output=True, text=True, timeout=60)
    assert add.returncode == 0, add.stdout + add.stderr
    listed = subprocess.run([str(BIN / "switchboard"), "operators", "--server", str(settings), "list"],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and any(line.startswith("anna") and "active" in line
                                          for line in listed.stdout.splitlines())
