"""Caller announcements (ari_app/controller/prompts.py) and our prompt set
(asterisk_etc/sounds/<lang>/switchboard/, made by scripts/make_prompts.py): Russian
plural forms, the exact media URI lists in both languages, that every file we name
exists for its language, the WAV format, and a Russian announcement played through
pbxsim's ARI for exactly as long as its files last."""

from __future__ import annotations

import asyncio
import importlib.util
import math
import shutil
import sys
import wave
from datetime import datetime
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import aiohttp
import pytest

from ari_app.controller.prompts import (
    callback_confirm,
    callback_offer,
    ewt_minutes,
    is_russian,
    max_wait_apology,
    nobody_on_shift,
    play_language,
    plural_form_ru,
    position_announcement,
    russian_number,
    transferring,
    voicemail_intro,
)
from pbxsim.media import SoundLibrary, resolve_media_uri, sound_roots
from pbxsim.server import PbxSim
from pbxsim_ari_support import Ari, Events
from pbxsim_support import run, until

ROOT = Path(__file__).resolve().parents[1]
ETC = ROOT / "asterisk_etc"
OURS = ETC / "sounds"
DEBIAN = Path("/usr/share/asterisk/sounds")
DEBIAN_DIRS = {"en": DEBIAN / "en_US_f_Allison", "ru": DEBIAN / "ru_RU_f_IvrvoiceRU"}

needs_sounds = pytest.mark.skipif(
    not all(d.is_dir() for d in DEBIAN_DIRS.values()),
    reason="Debian's asterisk-core-sounds-en-wav / -ru-wav are not installed under /usr/share/asterisk/sounds",
)


def ours(name: str) -> str:
    return f"sound:switchboard/{name}"


def make_prompts() -> ModuleType:
    """scripts/make_prompts.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_prompts", ROOT / "scripts" / "make_prompts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass resolves annotations through it
    spec.loader.exec_module(module)
    return module


# --- Russian plural forms -------------------------------------------------------------------

PLURALS = {
    0: "many", 1: "one", 2: "few", 3: "few", 4: "few", 5: "many", 9: "many", 10: "many",
    11: "many", 12: "many", 13: "many", 14: "many", 15: "many", 19: "many", 20: "many",
    21: "one", 22: "few", 23: "few", 24: "few", 25: "many", 30: "many", 31: "one", 44: "few",
    100: "many", 101: "one", 102: "few", 104: "few", 105: "many", 111: "many", 112: "many",
    113: "many", 114: "many", 115: "many", 121: "one", 122: "few", 124: "few", 125: "many",
}


@pytest.mark.parametrize(("n", "form"), sorted(PLURALS.items()))
def test_plural_form_ru_follows_russian_rules(n: int, form: str) -> None:
    assert plural_form_ru(n) == form


def test_plural_form_ru_of_a_negative_number_is_that_of_its_magnitude() -> None:
    assert [plural_form_ru(-n) for n in (1, 2, 5, 11)] == ["one", "few", "many", "many"]


# --- language --------------------------------------------------------------------------------

def test_ru_codes_are_russian_and_anything_else_is_english() -> None:
    assert all(is_russian(code) for code in ("ru", "ru_RU", "RU", "ru-RU"))
    assert not any(is_russian(code) for code in ("en", "en_US", "de", "", "uk"))
    assert [play_language(code) for code in ("ru_RU", "de", "")] == ["ru", "en", "en"]
    assert position_announcement(3, None, "de") == position_announcement(3, None, "en")


# --- English URI lists ----------------------------------------------------------------------

EN_THANKS = "sound:queue-thankyou"


def test_english_first_in_line_without_an_estimate_is_you_are_next() -> None:
    assert position_announcement(1, None, "en") == ("sound:queue-youarenext", EN_THANKS)


def test_english_position_is_caller_number_n_waiting() -> None:
    assert position_announcement(2, None, "en") == (
        "sound:queue-thereare", "number:2", "sound:queue-callswaiting", EN_THANKS)
    assert position_announcement(7, None, "en")[1] == "number:7"


@pytest.mark.parametrize(("ewt", "wait"), [
    (30, ("sound:queue-holdtime", "sound:queue-less-than", "number:1", "sound:queue-minute")),
    (0, ("sound:queue-holdtime", "sound:queue-less-than", "number:1", "sound:queue-minute")),
    (60, ("sound:queue-holdtime", "number:1", "sound:queue-minute")),
    (61, ("sound:queue-holdtime", "number:2", "sound:queue-minutes")),
    (21 * 60, ("sound:queue-holdtime", "number:21", "sound:queue-minutes")),
    (22 * 60, ("sound:queue-holdtime", "number:22", "sound:queue-minutes")),
    (25 * 60, ("sound:queue-holdtime", "number:25", "sound:queue-minutes")),
    (3600, ("sound:queue-holdtime", "number:60", "sound:queue-minutes")),
    (3601, (ours("ewt-over-hour"),)),
    (math.inf, (ours("ewt-over-hour"),)),
])
def test_english_wait_is_rounded_up_to_minutes_with_singular_and_plural(ewt: float, wait: tuple[str, ...]) -> None:
    assert position_announcement(7, ewt, "en") == (
        "sound:queue-thereare", "number:7", "sound:queue-callswaiting", *wait, EN_THANKS)
    assert position_announcement(1, ewt, "en") == ("sound:queue-youarenext", *wait, EN_THANKS)


def test_english_other_announcements() -> None:
    assert callback_offer("en") == (ours("callback-offer"),)
    assert callback_confirm("+7 (916) 123-45-67", "en") == (
        ours("callback-confirm"), "digits:79161234567", "sound:auth-thankyou", "sound:goodbye")
    assert nobody_on_shift("en") == (ours("nobody-on-shift"), "sound:goodbye")
    assert voicemail_intro("en") == (ours("leave-message"), "sound:beep")
    assert max_wait_apology("en") == (ours("max-wait"),)
    assert transferring("en") == ("sound:pls-hold-while-try",)


# --- Russian URI lists ----------------------------------------------------------------------

RU_THANKS = ours("thank-you-patience")


def test_russian_first_in_line_and_positions() -> None:
    assert position_announcement(1, None, "ru") == (ours("first-in-line"), RU_THANKS)
    assert position_announcement(2, None, "ru") == (ours("position"), "sound:digits/2", RU_THANKS)
    assert position_announcement(7, None, "ru") == (ours("position"), "sound:digits/7", RU_THANKS)
    # positions are masculine cardinals; hundreds are ours (the ru set has no digits/100..900)
    assert position_announcement(121, None, "ru_RU") == (
        ours("position"), ours("100"), "sound:digits/20", "sound:digits/1", RU_THANKS)


@pytest.mark.parametrize(("ewt", "wait"), [
    (30, (ours("ewt-under-minute"),)),
    (60, (ours("ewt"), ours("1f"), ours("minute"))),  # одну минуту
    (61, (ours("ewt"), ours("2f"), ours("minutex1"))),  # две минуты
    (5 * 60, (ours("ewt"), "sound:digits/5", ours("minutex2"))),  # пять минут
    (11 * 60, (ours("ewt"), "sound:digits/11", ours("minutex2"))),  # одиннадцать минут
    (12 * 60, (ours("ewt"), "sound:digits/12", ours("minutex2"))),  # двенадцать минут
    (21 * 60, (ours("ewt"), "sound:digits/20", ours("1f"), ours("minute"))),  # двадцать одну минуту
    (22 * 60, (ours("ewt"), "sound:digits/20", ours("2f"), ours("minutex1"))),  # двадцать две минуты
    (24 * 60, (ours("ewt"), "sound:digits/20", "sound:digits/4", ours("minutex1"))),  # двадцать четыре минуты
    (25 * 60, (ours("ewt"), "sound:digits/20", "sound:digits/5", ours("minutex2"))),  # двадцать пять минут
    (3600, (ours("ewt"), "sound:digits/60", ours("minutex2"))),
    (3601, (ours("ewt-over-hour"),)),
])
def test_russian_wait_agrees_in_gender_and_number_with_minuta(ewt: float, wait: tuple[str, ...]) -> None:
    assert position_announcement(7, ewt, "ru") == (ours("position"), "sound:digits/7", *wait, RU_THANKS)


def test_russian_other_announcements() -> None:
    assert callback_offer("ru") == (ours("callback-offer"),)
    assert callback_confirm("8 916 123 45 67", "ru") == (
        ours("callback-confirm"), "digits:89161234567", ours("thank-you"), ours("goodbye"))
    assert nobody_on_shift("ru") == (ours("nobody-on-shift"), ours("goodbye"))
    assert voicemail_intro("ru") == (ours("leave-message"), "sound:beep")
    assert max_wait_apology("ru") == (ours("max-wait"),)
    assert transferring("ru") == (ours("transferring"),)


def test_russian_numbers_compose_stock_digits_with_our_feminine_units_and_hundreds() -> None:
    assert russian_number(1, feminine=True) == (ours("1f"),)
    assert russian_number(1) == ("sound:digits/1",)
    assert russian_number(40) == ("sound:digits/40",)
    assert russian_number(302, feminine=True) == (ours("300"), ours("2f"))
    assert russian_number(0) == ("sound:digits/0",)
    with pytest.raises(ValueError):
        russian_number(1000)


def test_wait_minutes_round_up_and_cap() -> None:
    assert [ewt_minutes(s) for s in (0, 59.9, 60, 60.1, 119, 120, 121)] == [0, 0, 1, 2, 2, 2, 3]
    assert ewt_minutes(10**9) == ewt_minutes(math.inf) == 61


def test_bad_inputs_are_refused_or_left_out() -> None:
    with pytest.raises(ValueError):
        position_announcement(0, None, "en")
    with pytest.raises(ValueError):
        callback_confirm("anonymous", "ru")
    # past the position cap only the wait is said; a NaN estimate counts as unknown
    assert position_announcement(1000, None, "ru") == (RU_THANKS,)
    assert position_announcement(5000, 90, "en") == (
        "sound:queue-holdtime", "number:2", "sound:queue-minutes", EN_THANKS)
    assert position_announcement(3, math.nan, "en") == position_announcement(3, None, "en")


# --- every file we name exists for its language ------------------------------------------------

POSITIONS = (1, 2, 7, 9, 10, 19, 21, 99, 100, 101, 122, 345, 999, 1000)
EWTS = (None, 0, 30, 60, 61, 300, 660, 1260, 1320, 1500, 2999, 3600, 3601, math.inf)


def everything_said(language: str) -> set[str]:
    said: set[str] = set()
    for position in POSITIONS:
        for ewt in EWTS:
            said.update(position_announcement(position, ewt, language))
    for number in ("+79161234567", "1001", "0"):
        said.update(callback_confirm(number, language))
    for announce in (callback_offer, nobody_on_shift, voicemail_intro, max_wait_apology, transferring):
        said.update(announce(language))
    return said


@needs_sounds
@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_sound_we_name_exists_in_that_languages_stock_set_or_ours(language: str) -> None:
    said = everything_said(language)
    for uri in sorted(u for u in said if u.startswith("sound:")):
        name = uri.removeprefix("sound:")
        stock = DEBIAN_DIRS[language] / f"{name}.wav"
        own = OURS / language / f"{name}.wav"
        assert stock.is_file() or own.is_file(), f"{language}: {uri} is neither {stock} nor {own}"


@needs_sounds
@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_uri_plays_whole_in_its_own_language(language: str) -> None:
    """Through pbxsim's say.c rules: number:/digits: name no missing file, and no file
    comes from the English fallback when the announcement is Russian."""
    library = SoundLibrary(sound_roots(ETC))
    own_dirs = (DEBIAN_DIRS[language], OURS / language)
    for uri in sorted(everything_said(language)):
        item = resolve_media_uri(uri, play_language(language), library)
        assert item.outcome == "done" and not item.missing, (uri, item.missing)
        for f in item.files:
            assert any(d in f.path.parents for d in own_dirs), (uri, f.path)
    if language == "ru":
        assert not [u for u in everything_said("ru") if u.startswith("number:")], "say.c's ru hundreds are missing"


# --- the prompt files ---------------------------------------------------------------------------

def test_prompt_files_are_8khz_16bit_mono_wav_and_small() -> None:
    files = sorted(OURS.glob("*/switchboard/*.wav"))
    assert files
    for path in files:
        with wave.open(str(path)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getcomptype()) == (8000, 1, 2, "NONE"), path
            assert 0.2 < w.getnframes() / 8000 < 8, path
        assert path.stat().st_size < 128 * 1024, path


def test_prompt_files_are_exactly_the_scripts_table() -> None:
    script = make_prompts()
    for language in ("en", "ru"):
        on_disk = {p.stem for p in (OURS / language / "switchboard").glob("*")}
        assert on_disk == set(script.texts(language)), f"{language}: run scripts/make_prompts.py"
    # every phrase the English path takes from us exists in Russian too
    assert set(script.texts("en")) <= set(script.texts("ru"))


# --- through pbxsim's ARI -----------------------------------------------------------------------

USER, PASSWORD, APP = "switchboard", "test-ari-secret", "switchboard"
SPEED = 5.0


async def closed_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()
    return port


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def ari_time(event: dict) -> float:
    return datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


@needs_sounds
def test_russian_position_announcement_plays_through_ari_for_the_sum_of_its_files(tmp_path: Path) -> None:
    """A pbxsim on a copy of the shipped asterisk_etc/ (its sounds/ included; the IVR
    pointed at a closed port, so the call reaches the app through the fallback)."""
    media = position_announcement(22, 21 * 60 + 5, "ru")  # 22nd, 22 minutes: "двадцать две минуты"
    names = [u.removeprefix("sound:") for u in media]
    assert all(u.startswith("sound:") for u in media)
    paths = [(OURS / "ru" / f"{n}.wav") if n.startswith("switchboard/") else DEBIAN_DIRS["ru"] / f"{n}.wav"
             for n in names]
    expected = sum(wav_seconds(p) for p in paths)

    async def main() -> None:
        etc_dir = tmp_path / "etc"
        shutil.copytree(ETC, etc_dir, ignore=shutil.ignore_patterns("secrets"))
        ext = etc_dir / "extensions.conf"
        ext.write_text(ext.read_text().replace("agi://127.0.0.1:4573/ivr", f"agi://127.0.0.1:{await closed_port()}/ivr"))
        sim = PbxSim(etc_dir, ari_port=0, with_ami=False, with_control=False, speed=SPEED,
                     ari_user=USER, ari_password=PASSWORD, ami_user=USER, ami_secret="test-ami-secret")
        async with sim, aiohttp.ClientSession() as session:
            assert sim.world is not None
            ari = Ari(sim, session, (USER, PASSWORD))
            events = await Events.connect(sim, session, APP, auth=f"{USER}:{PASSWORD}")
            cid = sim.world.place_inbound_call("+79161234567", "74951234567", language="ru")
            await events.next("StasisStart", lambda e: e["channel"]["id"] == cid, timeout=10)
            mark = len(events.items)
            status, body = await ari.post(f"/channels/{cid}/play?media={quote(','.join(media))}&lang=ru")
            assert status == 201 and body["language"] == "ru"
            finished = await events.next("PlaybackFinished", timeout=10 + 2 * expected / SPEED)
            assert finished["playback"]["state"] == "done"
            played = [e for e in events.items[mark:] if e["type"].startswith("Playback")]
            assert [e["playback"]["media_uri"] for e in played if e["type"] == "PlaybackStarted"] == list(media)
            heard = [e for e in sim.world.timeline(cid) if e["event"] == "heard"][-len(media):]
            assert [e["files"] for e in heard] == [[n] for n in names]
            # PlaybackStarted of the first item to PlaybackFinished: the files' lengths
            # (simulated seconds; event stamps have millisecond resolution)
            took = (ari_time(finished) - ari_time(played[0])) * SPEED
            assert expected - 0.05 <= took <= expected + 0.3 * SPEED, (took, expected)
            status, _ = await ari.delete(f"/channels/{cid}")
            assert status == 204
            await until(lambda: cid not in sim.world.channels, message="channel gone")
            await events.close()

    run(main(), timeout=60)
