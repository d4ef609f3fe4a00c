"""The Kazakh announcement on a real Asterisk: a ``language = "kk"`` call plays the generated
``sounds/kk`` digits (scripts/asterisk-kk-sounds) and their audio reaches the agent.

Agent 1007 is a double that records what it hears (MixMonitor on its own leg, started before
it answers) for 4 s, then presses 1 (config/asterisk/README.md). A SIP agent receiving the
announcement over RTP: test_sip_agents.py.
"""

from __future__ import annotations

import asyncio
import math
import uuid
import wave
from array import array
from pathlib import Path

import pytest
from asterisk_fixtures import AsteriskInstance, Reports

from campaigns.calls import CallResult, OriginateRequest
from dialer.ami.telephony import AmiTelephony

pytestmark = pytest.mark.asterisk

RECORDING_AGENT = "1007"
ANSWERING_CUSTOMER = "79990000011"  # answers, stays 1 s
ORDER_DIGITS = "9072"
WINDOW_S = 0.02
VOICE_RMS = 300  # 16-bit samples; the prompts are normalised to -3 dBFS, silence is 0


def request(language: str) -> OriginateRequest:
    return OriginateRequest(
        attempt_id=str(uuid.uuid4()),
        order_id=f"A-{ORDER_DIGITS}",
        agent=RECORDING_AGENT,
        customer_number=ANSWERING_CUSTOMER,
        announce_digits=ORDER_DIGITS,
        ring_timeout_s=3,
        accept_timeout_s=5,
        language=language,
    )


def kazakh_sounds(asterisk: AsteriskInstance) -> Path:
    """sounds/kk as the host sees it (Asterisk's data directory, under the chroot if any)."""
    settings = asterisk.cli("core show settings")
    data_dir = next(
        line.split(":", 1)[1].strip()
        for line in settings.splitlines()
        if line.strip().startswith("Data directory")
    )
    chroot = str(asterisk.directory).removesuffix(asterisk.inner_directory)
    return Path(chroot + data_dir) / "sounds" / "kk"


def voiced_seconds(path: Path) -> float:
    """How long the audio in a 16-bit WAV is louder than silence, in 20 ms windows."""
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        window = int(wav.getframerate() * WINDOW_S)
        voiced = 0
        while chunk := wav.readframes(window):
            samples = array("h", chunk)
            voiced += math.sqrt(sum(s * s for s in samples) / len(samples)) >= VOICE_RMS
    return voiced * WINDOW_S


async def heard(asterisk: AsteriskInstance, attempt_id: str) -> Path:
    """The double's recording; MixMonitor closes it just after StopMixMonitor."""
    path = asterisk.directory / "spool" / "monitor" / "agent-heard" / f"{attempt_id}.wav"
    for _ in range(50):
        if path.exists() and path.stat().st_size > 44:
            return path
        await asyncio.sleep(0.1)
    raise AssertionError(f"the agent double recorded nothing at {path}")


def played(asterisk: AsteriskInstance, attempt_id: str) -> list[str]:
    """The files Asterisk played on the attempt's dialplan leg, with their format (``slin``
    is a .wav) and the channel's language."""
    lines = asterisk.full_log().splitlines()
    marker = f"dialer attempt {attempt_id} agent answered"
    answered = next(line for line in lines if marker in line)
    channel = answered.split('Verbose("', 1)[1].split('"', 1)[0]  # Local/1007@...;1
    prefix = f"<{channel}> Playing "
    return [line.split(prefix, 1)[1] for line in lines if prefix in line]


async def test_kazakh_announcement_plays_the_generated_digits_and_the_agent_hears_them(
    telephony: AmiTelephony, reports: Reports, asterisk: AsteriskInstance
) -> None:
    req = request("kk")
    telephony.originate(req)
    report = await reports.wait(req.attempt_id, timeout_s=30)

    assert report.result is CallResult.ANSWERED, report.detail  # the agent pressed 1
    files = played(asterisk, req.attempt_id)
    digits = [f"'digits/{d}.slin' (language 'kk')" for d in ORDER_DIGITS]
    assert files[: len(digits)] == digits, files
    sounds = kazakh_sounds(asterisk)
    expected = sum(voiced_seconds(sounds / "digits" / f"{d}.wav") for d in ORDER_DIGITS)
    assert expected >= 0.8  # four spoken digits, not silent files
    recording = voiced_seconds(await heard(asterisk, req.attempt_id))
    assert recording >= 0.9 * expected, (recording, expected)


async def test_russian_announcement_to_the_same_agent_is_not_kazakh(
    telephony: AmiTelephony, reports: Reports, asterisk: AsteriskInstance
) -> None:
    """The control: the same double hears Russian (.gsm, language ru) when not asked for kk."""
    req = request("ru")
    telephony.originate(req)
    report = await reports.wait(req.attempt_id, timeout_s=30)

    assert report.result is CallResult.ANSWERED, report.detail
    files = played(asterisk, req.attempt_id)
    assert files[: len(ORDER_DIGITS)] == [
        f"'digits/{d}.gsm' (language 'ru')" for d in ORDER_DIGITS
    ], files
    assert voiced_seconds(await heard(asterisk, req.attempt_id)) >= 0.8
