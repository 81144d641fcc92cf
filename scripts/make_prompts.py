#!/usr/bin/env python3
"""Generate Switchboard's own caller prompts (English and Russian) as Asterisk sounds.

What a waiting caller hears is composed by ``ari_app/controller/prompts.py`` from
Asterisk's stock sound sets and from the prompts below. We ship our own because the
stock sets cannot say everything we need: neither has a callback offer or a
"nobody is on shift" apology, and Debian's Russian set (``ru_RU_f_IvrvoiceRU``) has no
counted-noun forms we can trust for "минуту / минуты / минут" and no feminine
"одну / две". The Russian minute forms are named after Asterisk's counted-noun
convention (``main/say.c`` ``ast_say_counted_noun``: ``noun`` for 1, 21, …,
``nounx1`` for 2-4, 22-24, …, ``nounx2`` for the rest), feminine numerals after
say.c's gendered digits (``1f``, ``2f``).

``PROMPTS`` is the one table of texts: a name, the English text (or None when the
English path uses the stock file named in ``en_stock``), the Russian text. It is also
the script for a studio: a real deployment may replace the generated files with
recordings of the same names and nothing else changes.

Output: ``asterisk_etc/sounds/<lang>/switchboard/<name>.wav``, 8 kHz 16-bit mono PCM
(what Asterisk's ``format_wav`` plays without transcoding from slin), leading and
trailing silence trimmed to a short fixed pause. Made with espeak-ng and sox
(``apt-get install espeak-ng sox``; only needed to regenerate, the WAVs are committed).
The same espeak-ng/sox versions give byte-identical files (sox runs without dither).

    python3 scripts/make_prompts.py            # (re)generate every file
    python3 scripts/make_prompts.py --list     # print the texts, core-sounds-*.txt style
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOUNDS_DIR = ROOT / "asterisk_etc" / "sounds"
SUBDIR = "switchboard"  # sound names are "switchboard/<name>"
RATE = 8000
VOICES = {"en": "en-us+f3", "ru": "ru+f3"}  # female variants, like Allison and IvrvoiceRU
WORDS_PER_MINUTE = 150  # a little slower than espeak's 175: telephone audio
LEAD_PAD, TAIL_PAD = 0.05, 0.15  # seconds of silence kept around each prompt


@dataclass(frozen=True)
class Prompt:
    name: str
    en: str | None  # None: the English path uses a stock file instead (en_stock)
    ru: str
    en_stock: str = ""  # the stock English sound playing this part, for the studio's notes


PROMPTS: tuple[Prompt, ...] = (
    # --- position and wait: English uses app_queue's stock prompts --------------------------
    Prompt("first-in-line", None,
           "Ваш звонок первый в очереди. Вам ответит первый освободившийся оператор.",
           en_stock="queue-youarenext"),
    Prompt("position", None, "Ваш номер в очереди:", en_stock="queue-thereare"),
    Prompt("ewt", None, "Ожидание займёт примерно", en_stock="queue-holdtime"),
    Prompt("ewt-under-minute", None, "Ожидание займёт меньше минуты.",
           en_stock="queue-holdtime + queue-less-than + digits/1 + queue-minute"),
    Prompt("ewt-over-hour", "The estimated hold time is more than one hour.", "Ожидание займёт больше часа."),
    Prompt("thank-you-patience", None, "Спасибо за терпение.", en_stock="queue-thankyou"),
    # --- counted noun "minute" (accusative) and feminine numerals ------------------------
    Prompt("minute", None, "минуту", en_stock="queue-minute"),
    Prompt("minutex1", None, "минуты", en_stock="queue-minutes"),
    Prompt("minutex2", None, "минут", en_stock="queue-minutes"),
    Prompt("1f", None, "одну", en_stock="digits/1"),
    Prompt("2f", None, "две", en_stock="digits/2"),
    # hundreds: the stock Russian digits stop at 90 (say.c would ask for digits/100..900)
    Prompt("100", None, "сто", en_stock="digits/1 + digits/hundred"),
    Prompt("200", None, "двести", en_stock="digits/2 + digits/hundred"),
    Prompt("300", None, "триста", en_stock="digits/3 + digits/hundred"),
    Prompt("400", None, "четыреста", en_stock="digits/4 + digits/hundred"),
    Prompt("500", None, "пятьсот", en_stock="digits/5 + digits/hundred"),
    Prompt("600", None, "шестьсот", en_stock="digits/6 + digits/hundred"),
    Prompt("700", None, "семьсот", en_stock="digits/7 + digits/hundred"),
    Prompt("800", None, "восемьсот", en_stock="digits/8 + digits/hundred"),
    Prompt("900", None, "девятьсот", en_stock="digits/9 + digits/hundred"),
    # --- callback, apologies, voicemail, transfer -----------------------------------------
    Prompt("callback-offer",
           "To be called back without losing your place in the queue, press one.",
           "Чтобы мы перезвонили вам, сохранив ваше место в очереди, нажмите один."),
    Prompt("callback-confirm", "We will call you back at the number", "Мы перезвоним вам по номеру"),
    Prompt("nobody-on-shift",
           "We are sorry, nobody can take your call right now. Please call again later.",
           "К сожалению, сейчас никто не может ответить на ваш звонок. Пожалуйста, позвоните позже."),
    Prompt("max-wait",
           "We are sorry to keep you waiting so long. All our operators are still busy.",
           "Извините, что заставляем вас так долго ждать. Все операторы по-прежнему заняты."),
    Prompt("leave-message", "Please leave a message after the tone.", "Пожалуйста, оставьте сообщение после сигнала."),
    Prompt("transferring", None, "Пожалуйста, оставайтесь на линии: мы пытаемся соединить вас.",
           en_stock="pls-hold-while-try"),
    Prompt("thank-you", None, "Спасибо.", en_stock="auth-thankyou"),
    Prompt("goodbye", None, "До свидания.", en_stock="goodbye"),
)


def texts(language: str) -> dict[str, str]:
    """name -> text of every prompt generated for ``language`` ("en" or "ru")."""
    out: dict[str, str] = {}
    for p in PROMPTS:
        text = p.en if language == "en" else p.ru
        if text is not None:
            out[p.name] = text
    return out


def synthesize(text: str, language: str) -> bytes:
    """8 kHz 16-bit mono samples of ``text`` spoken by espeak-ng, trimmed and padded."""
    speech = subprocess.run(
        ["espeak-ng", "-v", VOICES[language], "-s", str(WORDS_PER_MINUTE), "--stdout", text],
        check=True, capture_output=True,
    ).stdout
    return subprocess.run(
        ["sox", "-t", "wav", "-", "-D", "-t", "raw", "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", "-",
         "silence", "1", "0.02", "1%", "reverse", "silence", "1", "0.02", "1%", "reverse",
         "gain", "-n", "-3", "pad", str(LEAD_PAD), str(TAIL_PAD)],
        input=speech, check=True, capture_output=True,
    ).stdout


def write_wav(path: Path, samples: bytes) -> None:
    """A plain 44-byte-header PCM WAV, as Asterisk's format_wav writes and reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples)


def generate(sounds_dir: Path = SOUNDS_DIR) -> list[Path]:
    """Write every prompt of both languages; remove stale files of ours. Returns the paths."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"make_prompts: {tool} is not installed (apt-get install espeak-ng sox)")
    written: list[Path] = []
    for language in VOICES:
        target = sounds_dir / language / SUBDIR
        wanted = texts(language)
        if target.is_dir():
            for stale in target.glob("*.wav"):
                if stale.stem not in wanted:
                    stale.unlink()
        for name, text in wanted.items():
            path = target / f"{name}.wav"
            write_wav(path, synthesize(text, language))
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the texts instead of generating")
    parser.add_argument("--sounds-dir", type=Path, default=SOUNDS_DIR, help="where <lang>/switchboard/ go")
    args = parser.parse_args(argv)
    if args.list:
        for language in VOICES:
            for name, text in texts(language).items():
                print(f"{language} {SUBDIR}/{name}: {text}")
        return 0
    paths = generate(args.sounds_dir)
    total = sum(p.stat().st_size for p in paths)
    print(f"make_prompts: {len(paths)} files, {total // 1024} KB under {args.sounds_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
