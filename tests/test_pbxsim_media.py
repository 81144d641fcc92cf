"""pbxsim.media: sound lookup and durations against the real recordings, say.c rules
(en and ru), media URI outcomes, music on hold, and the WAV writer."""

from __future__ import annotations

import json
import os
import wave
from pathlib import Path

import pytest

from pbxsim.media import (
    MusicClass,
    SoundLibrary,
    parse_say_number,
    read_wav_header,
    resolve_media,
    say_characters,
    say_digits,
    say_number,
    split_media,
    wav_size,
    write_wav,
)

SOUNDS = Path("/usr/share/asterisk/sounds")
MOH = Path("/usr/share/asterisk/moh")
SHARED = Path(os.environ.get("SWITCHBOARD_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "asterisk"
TRANSCRIPTS = SHARED / "transcripts"

needs_sounds = pytest.mark.skipif(
    not (SOUNDS / "en_US_f_Allison").is_dir() or not (SOUNDS / "ru_RU_f_IvrvoiceRU").is_dir(),
    reason="Debian's asterisk-core-sounds-en-wav / -ru-wav are not installed under /usr/share/asterisk/sounds",
)
needs_recordings = pytest.mark.skipif(
    not TRANSCRIPTS.is_dir(), reason=f"the Asterisk recordings are not available at {TRANSCRIPTS}"
)


@pytest.fixture(scope="module")
def library() -> SoundLibrary:
    return SoundLibrary()


def _events(name: str) -> list[dict]:
    with open(TRANSCRIPTS / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# --- lookup and durations ---------------------------------------------------------------


@needs_sounds
def test_debian_language_directories_are_found_for_plain_language_codes(library: SoundLibrary) -> None:
    en = library.find("queue-thereare", "en")
    ru = library.find("queue-thereare", "ru")
    assert en is not None and en.path.parent.name == "en_US_f_Allison"
    assert ru is not None and ru.path.parent.name == "ru_RU_f_IvrvoiceRU"
    assert ru.duration != en.duration  # really the Russian recording
    # dialect codes shorten to the language, as file.c does: ru_RU -> ru
    assert library.find("queue-thereare", "ru_RU") == ru


@needs_sounds
def test_unknown_language_and_no_language_fall_back_to_english(library: SoundLibrary) -> None:
    en = library.find("beep", "en")
    assert library.find("beep", "de") == en
    assert library.find("beep", "") == en
    assert library.find("no-such-sound-file", "en") is None


def test_plain_language_layout_and_absolute_names(tmp_path: Path) -> None:
    (tmp_path / "sounds" / "fr" / "digits").mkdir(parents=True)
    (tmp_path / "sounds" / "en").mkdir(parents=True)
    write_wav(tmp_path / "sounds" / "fr" / "digits" / "1.wav", 0.5)
    write_wav(tmp_path / "sounds" / "en" / "hello.wav", 1.25)
    (tmp_path / "sounds" / "en" / "raw.ulaw").write_bytes(bytes(4000))  # 0.5 s of G.711
    (tmp_path / "sounds" / "en" / "frames.gsm").write_bytes(bytes(33 * 50))  # 50 frames = 1 s
    lib = SoundLibrary([tmp_path / "sounds"])
    assert lib.duration("digits/1", "fr") == 0.5
    assert lib.duration("hello", "fr") == 1.25  # fr lacks it: default language en
    assert lib.duration("raw", "en") == 0.5
    assert lib.duration("frames", "en") == 1.0
    assert lib.duration(str(tmp_path / "sounds" / "en" / "hello"), "ru") == 1.25
    assert lib.find("../en/hello", "fr") is None  # no escaping the sounds tree


@needs_sounds
@needs_recordings
def test_durations_match_the_recorded_playbacks(library: SoundLibrary) -> None:
    """Scenario 01 played sound:queue-thereare then digits:3: the gaps between
    PlaybackStarted / PlaybackContinuing / PlaybackFinished are the file lengths."""
    times: dict[str, list[tuple[float, str, str]]] = {}
    for event in _events("01-inbound-holding-moh-playback.jsonl"):
        msg = event.get("msg") or {}
        if event["dir"] == "ws-event" and msg["type"].startswith("Playback"):
            times.setdefault(msg["playback"]["id"], []).append((event["t"], msg["type"], msg["playback"]["media_uri"]))
    two_item = next(v for v in times.values() if len(v) == 4)
    (t0, _, _), (t1, kind1, _), (t2, _, uri2), (t3, kind3, _) = two_item
    assert kind1 == "PlaybackContinuing" and kind3 == "PlaybackFinished" and uri2 == "digits:3"
    items = resolve_media("sound:queue-thereare,digits:3", "en", library)
    assert items[0].duration == pytest.approx(t1 - t0, abs=0.03)  # 2.2535 s recorded, 2.2568 s of audio
    assert items[1].duration == pytest.approx(t3 - t2, abs=0.03)  # 0.836 s recorded, 0.838 s of audio
    assert round(items[0].duration, 2) == 2.26 and round(items[1].duration, 2) == 0.84


@needs_sounds
@needs_recordings
def test_beep_length_in_samples_is_the_recorded_stream_file_endpos(library: SoundLibrary) -> None:
    replies = [e["line"] for e in _events("06-fastagi-ivr-then-stasis.jsonl") if e["dir"] == "agi-in"]
    endpos = next(int(line.split("endpos=")[1]) for line in replies if "endpos=" in line)
    beep = library.find("beep", "en")
    assert beep is not None and beep.samples == endpos == 3404


# --- say.c ----------------------------------------------------------------------------------


def test_say_digits_reads_digits_star_pound_minus_and_skips_the_rest() -> None:
    assert say_digits("12*#-x9") == ["digits/1", "digits/2", "digits/star", "digits/pound", "digits/minus", "digits/9"]


@pytest.mark.parametrize(
    ("number", "files"),
    [
        (0, ["digits/0"]),
        (7, ["digits/7"]),
        (19, ["digits/19"]),
        (21, ["digits/20", "digits/1"]),
        (40, ["digits/40"]),
        (101, ["digits/1", "digits/hundred", "digits/1"]),
        (999, ["digits/9", "digits/hundred", "digits/90", "digits/9"]),
        (1000, ["digits/1", "digits/thousand"]),
        (2021, ["digits/2", "digits/thousand", "digits/20", "digits/1"]),
        (345_678, ["digits/3", "digits/hundred", "digits/40", "digits/5", "digits/thousand",
                   "digits/6", "digits/hundred", "digits/70", "digits/8"]),
        (2_000_005, ["digits/2", "digits/million", "digits/5"]),
        (-12, ["digits/minus", "digits/12"]),
        (1_000_000_000, []),  # "too big for me"
    ],
)
def test_say_number_english(number: int, files: list[str]) -> None:
    assert say_number(number, "en") == files
    assert say_number(number, "en_US") == files


@pytest.mark.parametrize(
    ("number", "files"),
    [
        (1, ["digits/1"]),
        (2, ["digits/2"]),
        (5, ["digits/5"]),
        (21, ["digits/20", "digits/1"]),
        (22, ["digits/20", "digits/2"]),
        (25, ["digits/20", "digits/5"]),
        (101, ["digits/100", "digits/1"]),
        (345, ["digits/300", "digits/40", "digits/5"]),
        # thousands are feminine (одна тысяча, две тысячи) and agree in number
        (1000, ["digits/1f", "digits/thousand"]),
        (2000, ["digits/2f", "digits/thousands-i"]),
        (4000, ["digits/4", "digits/thousands-i"]),
        (5000, ["digits/5", "digits/thousands"]),
        (11000, ["digits/11", "digits/thousands"]),
        (21000, ["digits/20", "digits/1f", "digits/thousand"]),
        (22000, ["digits/20", "digits/2f", "digits/thousands-i"]),
        (25000, ["digits/20", "digits/5", "digits/thousands"]),
        (1_000_000, ["digits/1", "digits/million"]),
        (3_000_000, ["digits/3", "digits/million-a"]),
        (5_000_000, ["digits/5", "digits/millions"]),
    ],
)
def test_say_number_russian(number: int, files: list[str]) -> None:
    assert say_number(number, "ru") == files


def test_say_number_russian_gender_option_applies_to_one_and_two_only() -> None:
    assert say_number(1, "ru", gender="f") == ["digits/1f"]
    assert say_number(2, "ru", gender="n") == ["digits/2n"]
    assert say_number(3, "ru", gender="f") == ["digits/3"]


@needs_sounds
def test_russian_number_plays_the_files_the_package_has_and_skips_the_rest(library: SoundLibrary) -> None:
    """Debian's ru package has no hundreds nor plural thousands; say.c skips a missing
    file silently, so 2000 says only what exists (a known gap of the package)."""
    (item,) = resolve_media("number:2000", "ru", library)
    assert item.outcome == "done"
    assert item.missing == ("digits/2f", "digits/thousands-i")
    (item,) = resolve_media("number:1000", "ru", library)
    assert item.file_names == ("digits/thousand",) and item.files[0].path.parent.parent.name == "ru_RU_f_IvrvoiceRU"
    (item,) = resolve_media("number:25", "ru", library)
    assert item.file_names == ("digits/20", "digits/5") and not item.missing


def test_characters_use_letters_and_named_symbols() -> None:
    assert [p for p, _ in say_characters("aZ9!@ ")] == [
        "letters/a", "letters/z", "digits/9", "letters/exclaimation-point", "letters/at", "letters/space",
    ]
    assert say_characters("?")[0] == ("letters/?", "letters/ascii63")


@needs_sounds
def test_characters_fall_back_to_ascii_files(library: SoundLibrary) -> None:
    (item,) = resolve_media("characters:a?", "en", library)
    assert item.file_names == ("letters/a", "letters/ascii63")


def test_number_uri_parses_like_sscanf() -> None:
    assert parse_say_number("45") == 45
    assert parse_say_number(" -3x") == -3
    assert parse_say_number("abc") is None
    assert parse_say_number("99999999999") == 2**31 - 1


# --- media URIs -----------------------------------------------------------------------------


@needs_sounds
def test_media_uri_outcomes_as_recorded_in_scenario_03(library: SoundLibrary) -> None:
    unknown_sound, unknown_scheme = resolve_media(["sound:no-such-sound-file", "bogus:x"], "en", library)
    assert (unknown_sound.outcome, unknown_sound.duration) == ("failed", 0.0)
    assert unknown_scheme.outcome == "unfinished" and unknown_scheme.scheme == "bogus"
    (tone,) = resolve_media("tone:ring;tonezone=fr", "en", library)
    assert tone.duration is None and tone.controllable
    (digits,) = resolve_media("digits:3", "en", library)
    assert digits.outcome == "done" and not digits.controllable
    (bad_number,) = resolve_media("number:abc", "en", library)
    assert bad_number.outcome == "unfinished"


def test_split_media_keeps_order_and_empty_entries() -> None:
    assert split_media("sound:a,digits:1") == ["sound:a", "digits:1"]
    assert split_media(["sound:a", "sound:b,sound:c"]) == ["sound:a", "sound:b", "sound:c"]
    assert split_media("sound:a,") == ["sound:a", ""]


def test_recording_uri_reads_stored_recordings(tmp_path: Path) -> None:
    write_wav(tmp_path / "s2-call.wav", 2.0)
    lib = SoundLibrary([tmp_path / "none"], recordings_dir=tmp_path)
    (found, missing) = resolve_media("recording:s2-call,recording:gone", "en", lib)
    assert found.outcome == "done" and found.duration == 2.0
    assert missing.outcome == "unfinished"


# --- music on hold ------------------------------------------------------------------------------


@pytest.mark.skipif(not MOH.is_dir(), reason="no music on hold in /usr/share/asterisk/moh")
def test_music_class_cycles_through_its_files() -> None:
    music = MusicClass.load("default", "files", "moh")
    assert music.directory == MOH and len(music.files) >= 2
    names = [f.name for f in music.files]
    assert names == sorted(names)
    first = music.files[0]
    assert music.playing_at(0).index == 0
    pos = music.playing_at(first.duration + 1.0)
    assert pos.index == 1 and pos.offset == pytest.approx(1.0)
    assert music.playing_at(music.cycle + 2.0).offset == pytest.approx(2.0)  # wraps around
    segments = music.segments(first.duration - 5, first.duration + 5)
    assert [s.file.name for s in segments] == names[:2]
    assert segments[0].offset == pytest.approx(first.duration - 5) and segments[1].offset == 0.0
    assert sum(s.end - s.start for s in segments) == pytest.approx(10.0)


def test_music_class_without_files_plays_nothing(tmp_path: Path) -> None:
    music = MusicClass.load("empty", "files", tmp_path)
    assert not music.playable and music.playing_at(3.0) is None and music.segments(0, 10) == []


def test_music_class_from_conf_object(tmp_path: Path) -> None:
    write_wav(tmp_path / "b.wav", 2.0)
    write_wav(tmp_path / "a.wav", 1.0)
    (tmp_path / "a.gsm").write_bytes(bytes(33))  # same tune in another format: one entry

    class Conf:
        name, mode, directory = "office", "files", str(tmp_path)

    music = MusicClass.from_conf(Conf())
    assert [f.name for f in music.files] == ["a", "b"] and music.cycle == 3.0


# --- WAV writing --------------------------------------------------------------------------------


def test_recorded_bridge_recording_size_follows_the_wav_formula(tmp_path: Path) -> None:
    """Scenario 02's stored recording: 155,244 bytes = 44 + 2 x 77,600 samples, i.e.
    9.7 s of 8 kHz audio, reported as ``duration: 9`` (whole seconds, truncated)."""
    path = tmp_path / "s2-call.wav"
    assert write_wav(path, 9.7) == 77_600
    assert path.stat().st_size == wav_size(9.7) == 155_244
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 8000, 77_600)
    assert read_wav_header(path) == (8000, 77_600)


@needs_recordings
def test_wav_formula_matches_the_recorded_file_size() -> None:
    sizes = [
        e["body"]["_binary_bytes"]
        for e in _events("02-agent-mixing-bridge-record.jsonl")
        if e["dir"] == "rest-resp" and isinstance(e.get("body"), dict) and "_binary_bytes" in e["body"]
    ]
    assert sizes == [155_244]
    samples = (sizes[0] - 44) // 2
    assert wav_size(samples / 8000) == sizes[0]


def test_tone_wav_is_a_sine_of_the_right_length(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    write_wav(path, 1.5, tone_hz=440)
    with wave.open(str(path)) as w:
        assert w.getnframes() == 12_000
        frames = w.readframes(w.getnframes())
    import array

    samples = array.array("h", frames)
    crossings = sum(1 for a, b in zip(samples, samples[1:]) if a < 0 <= b)
    assert crossings in (659, 660)  # 440 Hz over 1.5 s
    assert max(samples) > 7000


def test_empty_and_odd_lengths(tmp_path: Path) -> None:
    assert write_wav(tmp_path / "empty.wav", 0) == 0
    assert (tmp_path / "empty.wav").stat().st_size == 44
    write_wav(tmp_path / "short.wav", 0.00125, rate=8000)  # 10 samples
    with wave.open(str(tmp_path / "short.wav")) as w:
        assert w.getnframes() == 10


def test_music_class_random_sort_is_a_seeded_shuffle(tmp_path: Path) -> None:
    for letter in "abcdef":
        write_wav(tmp_path / f"{letter}.wav", 0.5)
    alpha = MusicClass.load("c", "files", tmp_path)
    shuffled = MusicClass.load("c", "files", tmp_path, sort="random")
    again = MusicClass.load("c", "files", tmp_path, sort="random")
    rotated = MusicClass.load("c", "files", tmp_path, sort="randstart")
    names = [f.name for f in alpha.files]
    assert names == list("abcdef")
    assert [f.name for f in shuffled.files] == [f.name for f in again.files]
    assert sorted(f.name for f in shuffled.files) == names
    start = names.index(rotated.files[0].name)
    assert [f.name for f in rotated.files] == names[start:] + names[:start]


def test_absolute_names_see_files_written_later(tmp_path: Path) -> None:
    lib = SoundLibrary([tmp_path / "none"])
    assert lib.find(str(tmp_path / "later"), "en") is None
    write_wav(tmp_path / "later.wav", 0.25)
    assert lib.duration(str(tmp_path / "later"), "en") == 0.25
