"""Media facts for pbxsim: which sound files a prompt plays and for how long.

Everything here is pure (file reads aside) and synchronous, so the world can ask
"what does ``sound:queue-thereare,digits:3`` play, and when does it finish?" without
awaiting anything, and tests can check the answers against the recordings:

* ``SoundLibrary`` finds a sound the way Asterisk's ``file.c`` does (preferred
  language, the language without its dialect, no language, then ``en``), on Debian's
  layout (``en_US_f_Allison``, ``ru_RU_f_IvrvoiceRU``) as well as a plain
  ``<root>/<lang>/`` one, and reads durations from WAV headers (or from the size of
  raw formats), cached.
  ``sound_roots`` adds a configuration's own ``sounds/`` (Switchboard's prompts).
* ``say_digits``, ``say_number``, ``say_characters`` name the files ``main/say.c``
  plays, English and Russian rules included (Russian thousands are feminine; the
  plural of thousand/million follows the last digits).
* ``resolve_media`` turns ARI media URIs into ``MediaItem``s with files, duration and
  the outcome Asterisk's ``res_stasis_playback.c`` reports for them.
* ``MusicClass`` is a music-on-hold class in ``files`` mode: its files and what is
  playing at a given moment of accumulated hold time.
* ``write_wav`` writes the recordings: 8 kHz 16-bit mono PCM, header plus data, the
  size Asterisk's ``format_wav`` produces.
"""

from __future__ import annotations

import math
import random
import re
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SOUNDS_ROOT = Path("/usr/share/asterisk/sounds")
DEFAULT_DATA_DIR = Path("/usr/share/asterisk")
DEFAULT_LANGUAGE = "en"  # Asterisk's DEFAULT_LANGUAGE, the last fallback of file.c

# Extensions Asterisk's format modules register, in the order pbxsim prefers them
# (Asterisk picks by translation cost to the channel's codec; for 8 kHz telephony
# the WAV/SLN/G.711 files all cost the same, so the first one found wins).
# Value: (sample rate, bytes per second) for raw formats; None for WAV (read header).
_FORMATS: dict[str, tuple[int, float] | None] = {
    "wav": None,
    "sln": (8000, 16000.0),
    "raw": (8000, 16000.0),
    "ulaw": (8000, 8000.0),
    "ul": (8000, 8000.0),
    "mu": (8000, 8000.0),
    "pcm": (8000, 8000.0),
    "alaw": (8000, 8000.0),
    "al": (8000, 8000.0),
    "alw": (8000, 8000.0),
    "gsm": (8000, 33 * 8000 / 160),  # 33-byte frames of 160 samples
    "g722": (16000, 8000.0),
    "g729": (8000, 1000.0),  # 10-byte frames of 80 samples
    "wav16": None,
    "sln16": (16000, 32000.0),
    "sln48": (48000, 96000.0),
}

SOUND_SCHEME = "sound:"
RECORDING_SCHEME = "recording:"
NUMBER_SCHEME = "number:"
DIGITS_SCHEME = "digits:"
CHARACTERS_SCHEME = "characters:"
TONE_SCHEME = "tone:"

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True, slots=True)
class SoundFile:
    """One sound file on disk and how long it plays."""

    name: str  # as asked for, "digits/3"
    path: Path
    format: str  # the extension: wav, gsm, ulaw, ...
    duration: float  # seconds
    samples: int  # at the file's own rate (what STREAM FILE reports as endpos)
    rate: int


class SoundLibrary:
    """Finds sounds by name and language, as ``ast_fileexists`` does.

    ``roots`` are sounds directories (Asterisk's ``astsounddir``); each language code
    maps to ``<root>/<code>/`` when it exists, else to the ``<root>/<code>_*``
    directories (Debian installs ``en_US_f_Allison`` with no ``en`` link). Absolute
    names ignore the language, as in Asterisk. Lookups and durations are cached for
    the life of the library (the sound packages do not change under a running pbxsim).
    """

    def __init__(
        self,
        roots: Sequence[Path] = (DEFAULT_SOUNDS_ROOT,),
        *,
        default_language: str = DEFAULT_LANGUAGE,
        recordings_dir: Path | None = None,
    ) -> None:
        self.roots = tuple(Path(r) for r in roots)
        self.default_language = default_language
        self.recordings_dir = Path(recordings_dir) if recordings_dir else None
        self._found: dict[tuple[str, str], SoundFile | None] = {}
        self._lang_dirs: dict[tuple[Path, str], tuple[Path, ...]] = {}

    # --- lookup -------------------------------------------------------------------

    def find(self, name: str, language: str = "") -> SoundFile | None:
        """The file Asterisk would play for ``name`` in ``language``, or None.
        Absolute names are not cached: they usually point at recordings, which come
        and go while pbxsim runs."""
        if name.startswith("/"):
            return self._lookup(name, language)
        key = (name, language)
        if key not in self._found:
            self._found[key] = self._lookup(name, language)
        return self._found[key]

    def exists(self, name: str, language: str = "") -> bool:
        return self.find(name, language) is not None

    def duration(self, name: str, language: str = "") -> float | None:
        found = self.find(name, language)
        return None if found is None else found.duration

    def find_recording(self, name: str) -> SoundFile | None:
        """A stored recording (``recording:`` URIs) under ``recordings_dir``.
        Not cached: recordings come and go while pbxsim runs."""
        if self.recordings_dir is None or not _safe_relative(name):
            return None
        return _first_format(self.recordings_dir / name, name)

    def languages(self) -> list[str]:
        """Language directories present under the roots (``en_US_f_Allison``, ...)."""
        found: set[str] = set()
        for root in self.roots:
            if root.is_dir():
                found.update(p.name for p in root.iterdir() if p.is_dir() and p.name not in _NON_LANGUAGE_DIRS)
        return sorted(found)

    def _lookup(self, name: str, language: str) -> SoundFile | None:
        if not name:
            return None
        if name.startswith("/"):
            return _first_format(Path(name), name)
        if not _safe_relative(name):
            return None
        for candidate_language in _language_chain(language, self.default_language):
            for root in self.roots:
                if candidate_language is None:
                    bases = (root,)
                else:
                    bases = self._directories_for(root, candidate_language)
                for base in bases:
                    found = _first_format(base / name, name)
                    if found is not None:
                        return found
        return None

    def _directories_for(self, root: Path, language: str) -> tuple[Path, ...]:
        key = (root, language)
        if key not in self._lang_dirs:
            exact = root / language
            if exact.is_dir():
                dirs: tuple[Path, ...] = (exact,)
            elif root.is_dir():
                dirs = tuple(sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(language + "_")))
            else:
                dirs = ()
            self._lang_dirs[key] = dirs
        return self._lang_dirs[key]


def sound_roots(etc_directory: str | Path | None, default: Path = DEFAULT_SOUNDS_ROOT) -> tuple[Path, ...]:
    """The sounds directories for a configuration: Asterisk's own, then the
    configuration directory's ``sounds/`` when it has one. That is where Switchboard
    ships its prompt set (``asterisk_etc/sounds/<lang>/switchboard/``), which a real
    install copies into Asterisk's sounds directory; pbxsim reads it in place, so
    those prompts play with their real durations."""
    roots = [Path(default)]
    if etc_directory is not None and (Path(etc_directory) / "sounds").is_dir():
        roots.append((Path(etc_directory) / "sounds").resolve())
    return tuple(roots)


_NON_LANGUAGE_DIRS = frozenset({"digits", "letters", "phonetic", "silence", "dictate", "followme", "custom"})


def _safe_relative(name: str) -> bool:
    return ".." not in Path(name).parts


def _language_chain(language: str, default: str) -> Iterator[str | None]:
    """file.c's order: preferred language, then without its ``_dialect`` parts one by
    one, then no language at all, then the default language if not tried yet."""
    tried: list[str] = []
    lang = language
    while lang:
        tried.append(lang)
        yield lang
        if "_" not in lang:
            break
        lang = lang.rsplit("_", 1)[0]
    yield None
    if default and default not in tried:
        yield default


def _first_format(stem: Path, name: str) -> SoundFile | None:
    for ext in _FORMATS:
        path = stem.with_name(stem.name + "." + ext)
        if path.is_file():
            try:
                return _describe(path, name, ext)
            except (OSError, ValueError):
                continue  # unreadable or broken file: Asterisk would not play it either
    return None


def _describe(path: Path, name: str, ext: str) -> SoundFile:
    spec = _FORMATS[ext]
    if spec is None:
        rate, samples = read_wav_header(path)
    else:
        rate, bytes_per_second = spec
        samples = int(round(path.stat().st_size / bytes_per_second * rate))
    return SoundFile(name=name, path=path, format=ext, duration=samples / rate, samples=samples, rate=rate)


def read_wav_header(path: Path) -> tuple[int, int]:
    """(sample rate, number of sample frames) of a RIFF/WAVE file, from its chunks."""
    with open(path, "rb") as f:
        riff = f.read(12)
        if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            raise ValueError(f"{path}: not a RIFF/WAVE file")
        rate = channels = width = 0
        while True:
            header = f.read(8)
            if len(header) < 8:
                raise ValueError(f"{path}: no data chunk")
            chunk_id, size = struct.unpack("<4sI", header)
            if chunk_id == b"fmt ":
                fmt = f.read(size + (size & 1))
                _tag, channels, rate, _byte_rate, _align, bits = struct.unpack("<HHIIHH", fmt[:16])
                width = max(1, bits // 8)
            elif chunk_id == b"data":
                if not rate or not channels:
                    raise ValueError(f"{path}: data before fmt")
                # Asterisk streams what is there; a header claiming more than the file
                # holds (an interrupted recording) plays only the bytes present.
                available = path.stat().st_size - f.tell()
                size = min(size, max(0, available))
                return rate, size // (channels * width)
            else:
                f.seek(size + (size & 1), 1)


# --- say.c ----------------------------------------------------------------------------


def say_digits(text: str) -> list[str]:
    """``ast_say_digit_str``: digits, ``*`` (star), ``#`` (pound), ``-`` (minus);
    anything else is skipped silently."""
    names: list[str] = []
    for ch in text:
        if ch == "*":
            names.append("digits/star")
        elif ch == "#":
            names.append("digits/pound")
        elif ch == "-":
            names.append("digits/minus")
        elif "0" <= ch <= "9":
            names.append(f"digits/{ch}")
    return names


_CHARACTER_FILES = {
    "*": "digits/star",
    "#": "digits/pound",
    "!": "letters/exclaimation-point",  # sic, the file is named so
    "@": "letters/at",
    "$": "letters/dollar",
    "-": "letters/dash",
    ".": "letters/dot",
    "=": "letters/equals",
    "+": "letters/plus",
    "/": "letters/slash",
    " ": "letters/space",
}


def say_characters(text: str) -> list[tuple[str, str]]:
    """``ast_say_character_str``: per character, (preferred file, fallback file).
    The world plays the first that exists (``letters/ascii<code>`` is the fallback
    say.c tries when the named file is missing) and skips the character otherwise."""
    out: list[tuple[str, str]] = []
    for ch in text:
        if ch in _CHARACTER_FILES:
            name = _CHARACTER_FILES[ch]
        elif "0" <= ch <= "9":
            name = f"digits/{ch}"
        else:
            name = "letters/" + (ch.lower() if "A" <= ch <= "Z" else ch)
        out.append((name, f"letters/ascii{ord(ch)}"))
    return out


def say_number(number: int, language: str = "en", gender: str | None = None) -> list[str]:
    """The files ``ast_say_number`` plays for ``number`` in ``language``.

    English (and any language without its own rules, as in say.c): "twenty-one" is
    ``digits/20`` + ``digits/1``, ``digits/N`` + ``digits/hundred``, thousands and
    millions recursively; numbers of a billion or more are "too big" (nothing).
    Russian: hundreds as ``digits/100``..``digits/900``; thousands feminine
    (``gender="f"``: ``digits/1f``, ``digits/2f``) with ``thousand`` /
    ``thousands-i`` / ``thousands`` by the last digits, millions with ``million`` /
    ``million-a`` / ``millions``. Names are returned even when the installed
    package lacks the file: Asterisk tries each and skips a missing one silently.
    """
    if not number:
        return say_digits("0")
    number = max(_INT_MIN, min(_INT_MAX, number))
    lang = language.lower()
    if lang.startswith("ru"):
        return _say_number_ru(number, gender)
    return _say_number_en(number)


def _say_number_en(num: int) -> list[str]:
    files: list[str] = []
    if num < 0:
        files.append("digits/minus")
        num = -num if num > _INT_MIN else 0
    if num >= 1_000_000_000:
        return files  # "Number '%d' is too big for me": say.c stops here
    if num >= 1_000_000:
        files += _say_number_en(num // 1_000_000) + ["digits/million"]
        num %= 1_000_000
    if num >= 1000:
        files += _say_number_en(num // 1000) + ["digits/thousand"]
        num %= 1000
    if num >= 100:
        files += [f"digits/{num // 100}", "digits/hundred"]
        num %= 100
    if num >= 20:
        files.append(f"digits/{num - num % 10}")
        num %= 10
    if num:
        files.append(f"digits/{num}")
    return files


def _lastdigits_ru(num: int) -> int:
    """say.c's ``get_lastdigits_ru``: the part of a number its plural form agrees with."""
    if num < 20:
        return num
    if num < 100:
        return _lastdigits_ru(num % 10)
    if num < 1000:
        return _lastdigits_ru(num % 100)
    return 0


def _say_number_ru(num: int, gender: str | None) -> list[str]:
    files: list[str] = []
    if num < 0:
        files.append("digits/minus")
        num = -num if num > _INT_MIN else 0
    while num:
        if num < 20:
            if gender and len(gender) == 1 and num < 3:
                files.append(f"digits/{num}{gender}")
            else:
                files.append(f"digits/{num}")
            num = 0
        elif num < 100:
            files.append(f"digits/{num - num % 10}")
            num %= 10
        elif num < 1000:
            files.append(f"digits/{num - num % 100}")
            num %= 100
        elif num < 1_000_000:
            last = _lastdigits_ru(num // 1000)
            files += _say_number_ru(num // 1000, "f" if last < 3 else None)
            if last == 1:
                files.append("digits/thousand")
            elif 1 < last < 5:
                files.append("digits/thousands-i")
            else:
                files.append("digits/thousands")
            num %= 1000
        elif num < 1_000_000_000:
            last = _lastdigits_ru(num // 1_000_000)
            files += _say_number_ru(num // 1_000_000, None)
            if last == 1:
                files.append("digits/million")
            elif 1 < last < 5:
                files.append("digits/million-a")
            else:
                files.append("digits/millions")
            num %= 1_000_000
        else:
            break  # too big: say.c gives up with what it said so far
    return files


def parse_say_number(text: str) -> int | None:
    """``sscanf("%30d")`` as res_stasis_playback uses it: leading blanks, a sign and
    digits, trailing junk ignored; None when there is no number at all."""
    m = re.match(r"\s*([+-]?\d{1,30})", text)
    if not m:
        return None
    return max(_INT_MIN, min(_INT_MAX, int(m.group(1))))


# --- ARI media URIs -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One media URI of an ARI ``play``, resolved.

    ``outcome``: ``"done"`` plays ``files`` for ``duration`` seconds and finishes;
    ``"failed"`` finishes at once with state ``failed`` (an unknown sound file: 201,
    PlaybackStarted, PlaybackFinished ``failed``, as scenario 03 recorded);
    ``"unfinished"`` publishes PlaybackStarted and then nothing (an unknown scheme,
    an invalid number, a missing recording: res_stasis_playback ``continue``s without
    a final update, so a last item of this kind never finishes — scenario 03's
    ``bogus:x``; a following item simply starts). ``duration`` None: plays until
    stopped (``tone:``). ``controllable``: ARI stop/pause/restart apply (sound,
    recording, tone); for ``digits:``/``number:``/``characters:`` Asterisk refuses.
    ``missing``: names say.c tried that are not installed (skipped silently).
    """

    uri: str
    scheme: str  # "sound", "recording", "number", "digits", "characters", "tone", or the unknown one
    files: tuple[SoundFile, ...]
    duration: float | None
    outcome: str
    controllable: bool
    missing: tuple[str, ...] = ()

    @property
    def file_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.files)


def split_media(value: str | Iterable[str]) -> list[str]:
    """ARI's ``media`` parameter: a comma-separated list (or several, already split).
    Empty entries are kept so the caller can refuse them as Asterisk does."""
    parts = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    for part in parts:
        out.extend(part.split(","))
    return out


def resolve_media(uris: str | Iterable[str], language: str, library: SoundLibrary) -> list[MediaItem]:
    """Resolve each media URI (comma-separated lists accepted) for ``language``."""
    return [resolve_media_uri(uri, language, library) for uri in split_media(uris)]


def resolve_media_uri(uri: str, language: str, library: SoundLibrary) -> MediaItem:
    if uri.startswith(SOUND_SCHEME):
        found = library.find(uri[len(SOUND_SCHEME):], language)
        if found is None:
            return MediaItem(uri, "sound", (), 0.0, "failed", True, (uri[len(SOUND_SCHEME):],))
        return MediaItem(uri, "sound", (found,), found.duration, "done", True)
    if uri.startswith(RECORDING_SCHEME):
        found = library.find_recording(uri[len(RECORDING_SCHEME):])
        if found is None:
            return MediaItem(uri, "recording", (), 0.0, "unfinished", False, (uri[len(RECORDING_SCHEME):],))
        return MediaItem(uri, "recording", (found,), found.duration, "done", True)
    if uri.startswith(NUMBER_SCHEME):
        number = parse_say_number(uri[len(NUMBER_SCHEME):])
        if number is None:
            return MediaItem(uri, "number", (), 0.0, "unfinished", False)
        return _sequence(uri, "number", say_number(number, language), language, library)
    if uri.startswith(DIGITS_SCHEME):
        # say_digit_str checks ast_fileexists first: missing digits are not even tried
        return _sequence(uri, "digits", say_digits(uri[len(DIGITS_SCHEME):]), language, library)
    if uri.startswith(CHARACTERS_SCHEME):
        names = []
        for preferred, fallback in say_characters(uri[len(CHARACTERS_SCHEME):]):
            names.append(preferred if library.exists(preferred, language) or not library.exists(fallback, language) else fallback)
        return _sequence(uri, "characters", names, language, library)
    if uri.startswith(TONE_SCHEME):
        return MediaItem(uri, "tone", (), None, "done", True)
    scheme = uri.split(":", 1)[0] if ":" in uri else uri
    return MediaItem(uri, scheme, (), 0.0, "unfinished", False)


def _sequence(uri: str, scheme: str, names: list[str], language: str, library: SoundLibrary) -> MediaItem:
    files: list[SoundFile] = []
    missing: list[str] = []
    for name in names:
        found = library.find(name, language)
        if found is None:
            missing.append(name)
        else:
            files.append(found)
    return MediaItem(uri, scheme, tuple(files), sum(f.duration for f in files), "done", False, tuple(missing))


# --- music on hold --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MohPosition:
    """What a music class plays at some moment: file index, the file, seconds into it."""

    index: int
    file: SoundFile
    offset: float


@dataclass(frozen=True, slots=True)
class MohSegment:
    """A stretch of one file heard between two moments of a hold (for timelines)."""

    file: SoundFile
    start: float  # seconds of hold time
    end: float
    offset: float  # seconds into the file at ``start``


@dataclass(frozen=True)
class MusicClass:
    """A music-on-hold class in ``files`` mode: its files in play order.

    Asterisk's res_musiconhold plays a ``files`` class file after file and cycles; a
    channel that stops and restarts the same class resumes where it was, so timelines
    are a function of the channel's accumulated hold time (``playing_at``). The files
    play in alphabetical order (Asterisk uses directory order unless ``sort=alpha``;
    pbxsim makes it deterministic, see DEVIATIONS.md), or a seeded shuffle for
    ``sort=random``.
    """

    name: str
    mode: str
    directory: Path
    files: tuple[SoundFile, ...]

    @classmethod
    def load(cls, name: str, mode: str, directory: str | Path, *, data_dir: Path = DEFAULT_DATA_DIR,
             sort: str = "", seed: int = 0) -> "MusicClass":
        """Scan ``directory`` (relative paths are under Asterisk's data dir, as
        ``directory=moh`` means ``/usr/share/asterisk/moh``). One entry per base name,
        the first format found winning, as moh_scan_files does. ``sort=random``
        shuffles the play order and ``randstart`` rotates it, both seeded so a run can
        be repeated (Asterisk draws a new random file each time one ends)."""
        path = Path(directory)
        if not path.is_absolute():
            path = data_dir / path
        files: list[SoundFile] = []
        if mode in ("files", "playlist") and path.is_dir():
            stems = sorted({p.stem for p in path.iterdir() if p.is_file() and p.suffix[1:] in _FORMATS})
            for stem in stems:
                found = _first_format(path / stem, stem)
                if found is not None and found.duration > 0:
                    files.append(found)
        if files and sort.lower() in ("random", "randstart"):
            rng = random.Random(f"{seed}:{name}")
            if sort.lower() == "random":
                rng.shuffle(files)
            else:
                start = rng.randrange(len(files))
                files = files[start:] + files[:start]
        return cls(name=name, mode=mode, directory=path, files=tuple(files))

    @classmethod
    def from_conf(cls, moh_class: object, *, data_dir: Path = DEFAULT_DATA_DIR) -> "MusicClass":
        """From ``pbxsim.conf.MohClass`` (anything with name, mode, directory)."""
        return cls.load(moh_class.name, moh_class.mode, moh_class.directory, data_dir=data_dir,  # type: ignore[attr-defined]
                        sort=str(getattr(moh_class, "sort", "") or ""))

    @property
    def cycle(self) -> float:
        """Seconds for one pass over all files (0 when the class has none)."""
        return sum(f.duration for f in self.files)

    @property
    def playable(self) -> bool:
        """A class without files plays silence (Asterisk logs and starts nothing)."""
        return self.cycle > 0

    def playing_at(self, elapsed: float) -> MohPosition | None:
        """The file and offset heard after ``elapsed`` seconds of hold time."""
        if not self.playable:
            return None
        t = max(0.0, elapsed) % self.cycle
        for index, f in enumerate(self.files):
            if t < f.duration:
                return MohPosition(index, f, t)
            t -= f.duration
        return MohPosition(0, self.files[0], 0.0)  # float rounding at the cycle's end

    def segments(self, start: float, end: float) -> list[MohSegment]:
        """The files heard between hold times ``start`` and ``end``, in order."""
        out: list[MohSegment] = []
        if not self.playable or end <= start:
            return out
        t = start
        while t < end - 1e-9:
            pos = self.playing_at(t)
            assert pos is not None
            left = pos.file.duration - pos.offset
            seg_end = min(end, t + left)
            out.append(MohSegment(pos.file, t, seg_end, pos.offset))
            if seg_end <= t:  # defensive: never loop on a zero-length file
                break
            t = seg_end
        return out


def music_classes(conf_classes: Mapping[str, object], *, data_dir: Path = DEFAULT_DATA_DIR) -> dict[str, MusicClass]:
    """All classes of ``AsteriskEtc.moh``, scanned."""
    return {name: MusicClass.from_conf(c, data_dir=data_dir) for name, c in conf_classes.items()}


# --- recordings -----------------------------------------------------------------------

WAV_HEADER_BYTES = 44


def wav_size(seconds: float, rate: int = 8000) -> int:
    """Bytes of the WAV file Asterisk's format_wav writes for ``seconds`` of 16-bit
    mono audio: a 44-byte header and the samples (padded to an even length)."""
    data = _sample_count(seconds, rate) * 2
    return WAV_HEADER_BYTES + data + (data & 1)


def _sample_count(seconds: float, rate: int) -> int:
    return max(0, int(round(seconds * rate)))


def write_wav(path: Path, seconds: float, rate: int = 8000, tone_hz: float | None = None, amplitude: int = 8000) -> int:
    """Write ``seconds`` of 16-bit mono PCM at ``rate``: silence, or a sine at
    ``tone_hz`` (the lab's agent phone sent 440 Hz). Returns the samples written.
    The header is the 44-byte PCM one format_wav writes, sizes filled in."""
    samples = _sample_count(seconds, rate)
    data_len = samples * 2
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + data_len, b"WAVE",
        b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16,
        b"data", data_len,
    )
    path = Path(path)
    with open(path, "wb") as f:
        f.write(header)
        if not samples:
            return 0
        block = _tone_block(rate, tone_hz, amplitude)
        whole, rest = divmod(samples, len(block) // 2)
        # write in chunks of about one second to bound memory on long recordings
        per_chunk = max(1, rate // (len(block) // 2))
        chunk = block * per_chunk
        for _ in range(whole // per_chunk):
            f.write(chunk)
        f.write(block * (whole % per_chunk))
        f.write(block[: rest * 2])
    return samples


def _tone_block(rate: int, tone_hz: float | None, amplitude: int) -> bytes:
    """The shortest run of samples that repeats exactly (silence: 160 samples)."""
    if not tone_hz:
        return bytes(320)
    if float(tone_hz).is_integer():
        period = rate // math.gcd(rate, int(tone_hz))
    else:
        period = rate  # a fractional tone repeats with a tiny phase step once a second
    return struct.pack(
        f"<{period}h",
        *(int(round(amplitude * math.sin(2 * math.pi * tone_hz * n / rate))) for n in range(period)),
    )
