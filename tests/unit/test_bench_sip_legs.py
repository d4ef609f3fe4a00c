"""The plumbing of bench/sip_legs.py (no Asterisk, no SIPp): what it appends to an instance's
config, the files it gives SIPp, how it reads /proc and SIPp's and Asterisk's screens, and
the private /etc it gives a chrooted Asterisk."""

from __future__ import annotations

import dataclasses
import re
import socket
from pathlib import Path

import pytest

from bench import common, sip_legs

SHIPPED_PJSIP = Path(__file__).resolve().parents[2] / "dialer" / "asterisk_files" / "pjsip.conf"


def test_quick_plan_is_smaller_than_the_full_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_SIP_LEGS_CALLS", raising=False)
    quick, full = sip_legs.Plan.for_run(quick=True), sip_legs.Plan.for_run(quick=False)
    assert quick.concurrency < full.concurrency
    assert quick.window_s < full.window_s
    monkeypatch.setenv("BENCH_SIP_LEGS_CALLS", "40")
    assert sip_legs.Plan.for_run(quick=False) == dataclasses.replace(full, concurrency=40)


def test_agents_are_local_doubles_that_press_1_and_not_the_shipped_endpoints() -> None:
    agents = sip_legs.agents(40)
    assert len(set(agents)) == 40
    assert all(re.fullmatch(r"\d{3}1", a) for a in agents)  # dialer-test-agents' _XXX1
    assert not {"101", "102", "103"} & set(agents)


def test_appended_endpoints_use_the_shipped_templates() -> None:
    shipped = SHIPPED_PJSIP.read_text(encoding="utf-8")
    for template in ("agent-template", "aor-template", "auth-template"):
        assert f"[{template}](!)" in shipped
    text = sip_legs.pjsip_agents({"2001": "pw-a", "2011": "pw-b"})
    for agent, password in (("2001", "pw-a"), ("2011", "pw-b")):
        assert f"[{agent}](agent-template)\nauth = {agent}\naors = {agent}\n" in text
        assert f"[{agent}](aor-template)\n" in text
        assert f"[{agent}](auth-template)\nusername = {agent}\npassword = {password}\n" in text


def test_register_scenario_takes_user_and_credentials_from_the_csv() -> None:
    scenario = sip_legs.register_scenario()
    original = sip_legs.REGISTER_SCENARIO.read_text(encoding="utf-8")
    assert scenario.count("<send") == original.count("<send") == 2
    assert "[agent]" not in scenario and "[authentication" not in scenario
    assert "[field0]" in scenario and "\n      [field1]\n" in scenario
    csv = sip_legs.injection_csv({"2001": "pw-a", "2011": "pw-b"})
    assert csv.splitlines() == [
        "SEQUENTIAL",
        "2001;[authentication username=2001 password=pw-a];",
        "2011;[authentication username=2011 password=pw-b];",
    ]


def test_carrier_scenario_and_local_customer_have_the_same_timeline() -> None:
    carrier = sip_legs.carrier_scenario(talk_s=3)
    assert not re.search(r"@[A-Z_]+@", carrier)
    assert '<pause milliseconds="1000" />' in carrier  # rings 1 s before the 200
    assert '<pause milliseconds="3000" />' in carrier
    dialplan = sip_legs.customers_dialplan(talk_s=3)
    assert f"[{sip_legs.CUSTOMERS_CONTEXT}]" in dialplan
    assert "Ringing()\n same => n,Wait(1)\n same => n,Answer()\n same => n,Wait(3)" in dialplan


def test_cpu_ticks_are_utime_plus_stime_even_with_a_parenthesis_in_the_name() -> None:
    fields = ["S", *[str(n) for n in range(4, 14)], "700", "42", *["0"] * 30]
    assert sip_legs.parse_cpu_ticks("123 (a) b) " + " ".join(fields)) == 742
    assert sip_legs.cpu_seconds(1) >= 0


def test_longest_pjsip_task_is_read_from_the_taskprocessor_list() -> None:
    shown = (
        "Processor  Processed  In Queue  Max Depth  Low water  High water  Susp  Max time\n"
        "taskpool/s:pjsip-00000010      975   0   7   450   500   0   5008577\n"
        "taskpool/s:pjsip-00000011      230   0   6   450   500   0   12\n"
        "stasis/m:manager:core-0000000c 32142 0 666 2700 3000   0   9557000\n"
    )
    assert sip_legs.pjsip_task_max_ms(shown) == 5008.577
    assert sip_legs.pjsip_task_max_ms("nothing") is None


def test_sipp_final_screen_and_bridge_list_are_read() -> None:
    screen = (
        "old\n                                 Messages  Retrans   Timeout   Unexpected-Msg\n"
        "  ----------> INVITE             9        9         0         0\n"
        "junk\n                                 Messages  Retrans   Timeout   Unexpected-Msg\n"
        "  ----------> INVITE             60        2         0         0\n"
        "  <---------- 180                60        0\n"
        "  ----------> ACK         E-RTD1 60        0         0         0\n"
    )
    assert sip_legs.sipp_counts(screen) == {
        "in INVITE": [60, 2],
        "out 180": [60, 0],
        "in ACK": [60, 0],
    }
    shown = (
        "Bridge-ID                            Name      Chans Type    Technology      Duration\n"
        "02ec9c0a-10f2-4aba-afb3-2d14a603b0e4 <unknown>     2 basic   simple_bridge   00:00:02\n"
        "07de69a9-34cb-42b9-b717-e14ecf875023 <unknown>     2 basic   native_rtp      00:00:01\n"
        "17de69a9-34cb-42b9-b717-e14ecf875023 <unknown>     2 basic   simple_bridge   00:00:03\n"
    )
    assert sip_legs.bridge_technologies(shown) == {"simple_bridge": 2, "native_rtp": 1}


def test_asterisk_in_a_chroot_gets_a_private_etc_with_a_hosts_file(tmp_path: Path) -> None:
    root = tmp_path / "asterisk-sid"
    (root / "etc" / "asterisk").mkdir(parents=True)
    (root / "etc" / "resolv.conf").write_text("nameserver 192.0.2.53\n")
    directory = root / "instances" / "bench-sip-1"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    start = ["scripts/asterisk-local", "start", "bench-sip-1"]

    assert common._with_hosts_file(start, directory, scratch) == start  # no chroot marker

    (root / ".callback-dialer-complete").touch()
    command = common._with_hosts_file(start, directory, scratch)
    assert command[:2] == ["unshare", "-m"]
    assert command[-5:] == [str(scratch / "etc"), str(root / "etc"), *start]
    hosts = (scratch / "etc" / "hosts").read_text()
    assert f"127.0.0.1 {socket.gethostname()}\n" in hosts
    assert (scratch / "etc" / "resolv.conf").read_text() == "nameserver 192.0.2.53\n"
    assert not (root / "etc" / "hosts").exists()  # the chroot itself is left alone
