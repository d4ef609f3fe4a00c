"""The Kazakh sound set: its texts name every file the announcement plays, and
scripts/asterisk-kk-sounds makes it once, again only when the texts change, and never over a
set it did not make (fake espeak-ng and sox; the real ones run in
tests/integration/test_kazakh_announcement.py)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEXTS = REPO / "dialer" / "asterisk_files" / "sounds" / "kk.txt"
DIALPLAN = REPO / "dialer" / "asterisk_files" / "extensions-dialer.conf"
SCRIPT = REPO / "scripts" / "asterisk-kk-sounds"
KAZAKH_DIGITS = ("нөл", "бір", "екі", "үш", "төрт", "бес", "алты", "жеті", "сегіз", "тоғыз")


def texts() -> dict[str, str]:
    lines = TEXTS.read_text(encoding="utf-8").splitlines()
    pairs = (line.split(maxsplit=1) for line in lines if line.strip() and line[0] != "#")
    return {name: text for name, text in pairs}


def announced_phrases() -> set[str]:
    """The files of the announcement's prompt list other than SAYFILES' digits and the beep."""
    prompts = re.findall(r"Set\(DIALER_PROMPT=(.*)$", DIALPLAN.read_text(), re.MULTILINE)
    assert prompts, "the dialplan sets no DIALER_PROMPT"
    tokens = (token for prompt in prompts for token in prompt.split("&"))
    files = {token.rstrip(")") for token in tokens if not token.startswith("${SAYFILES(")}
    assert "beep" in files  # the parse found the prompt list
    return files - {"beep"}


def test_the_texts_say_the_ten_digits_in_kazakh() -> None:
    assert {n: t for n, t in texts().items() if n.startswith("digits/")} == {
        f"digits/{d}": word for d, word in enumerate(KAZAKH_DIGITS)
    }


def test_every_phrase_the_announcement_plays_has_a_kazakh_text() -> None:
    assert announced_phrases() <= set(texts())


@pytest.fixture
def fake_tools(tmp_path: Path) -> dict[str, str]:
    """espeak-ng and sox that log their calls and write the text as the "audio"."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    (bin_dir / "espeak-ng").write_text(
        '#!/bin/sh\necho espeak-ng >>"$CALLS"\nwhile [ "$1" != -w ]; do shift; done\n'
        'out="$2"; shift 2; printf "%s" "$*" >"$out"\n'
    )
    (bin_dir / "sox").write_text(
        '#!/bin/sh\necho sox >>"$CALLS"\nin="$1"\nfor a; do case "$a" in *.raw.wav) ;; '
        '*.wav) out="$a" ;; esac; done\ncp "$in" "$out"\n'
    )
    for tool in ("espeak-ng", "sox"):
        (bin_dir / tool).chmod(0o755)
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(log),
        "CALLBACK_DIALER_ASTERISK_DATA": str(tmp_path / "data"),
    }


def make_sounds(env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(SCRIPT), "/"], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return done.stdout


def calls(env: dict[str, str]) -> list[str]:
    log = Path(env["CALLS"])
    return log.read_text().split() if log.exists() else []


def test_the_set_is_made_from_the_texts_then_reused(fake_tools: dict[str, str]) -> None:
    kk = Path(fake_tools["CALLBACK_DIALER_ASTERISK_DATA"]) / "sounds" / "kk"
    assert "made 10 Kazakh prompts" in make_sounds(fake_tools)
    assert (kk / "digits" / "9.wav").read_text() == "тоғыз"
    assert calls(fake_tools).count("espeak-ng") == 10

    assert "reusing" in make_sounds(fake_tools)
    assert calls(fake_tools).count("espeak-ng") == 10  # nothing spoken again
    assert sorted(p.name for p in kk.parent.iterdir()) == ["kk"]  # no work directory left


def test_a_changed_stamp_makes_the_set_again(fake_tools: dict[str, str]) -> None:
    kk = Path(fake_tools["CALLBACK_DIALER_ASTERISK_DATA"]) / "sounds" / "kk"
    make_sounds(fake_tools)
    (kk / ".callback-dialer-kk").write_text("older texts\n")
    (kk / "digits" / "9.wav").write_text("stale")

    assert "made 10" in make_sounds(fake_tools)
    assert (kk / "digits" / "9.wav").read_text() == "тоғыз"


def test_a_set_not_made_by_the_script_is_kept(fake_tools: dict[str, str]) -> None:
    recorded = Path(fake_tools["CALLBACK_DIALER_ASTERISK_DATA"]) / "sounds" / "kk" / "digits"
    recorded.mkdir(parents=True)
    (recorded / "9.gsm").write_text("a recorded voice")

    assert "kept as is" in make_sounds(fake_tools)
    assert sorted(p.name for p in recorded.iterdir()) == ["9.gsm"]
    assert calls(fake_tools) == []


def test_the_script_names_no_package_registry_host() -> None:
    assert not re.search(r"https?://|deb\.debian|pypi", SCRIPT.read_text())
