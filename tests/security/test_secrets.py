"""Secrets come only from the environment or files, API tokens are stored only as hashes,
and secrets are compared only with hmac.compare_digest (constant time by construction)."""

from __future__ import annotations

import ast
import hmac
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crm_adapter import signing
from dialer.config.service import ConfigError, load_service_config
from dialer.storage import tokens
from dialer.storage.migrate import open_database
from dialer.storage.tokens import SqlTokenStore

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
BASE = """
[campaign]
name = "shop"
agents = ["1001"]
[ami]
secret_env = "AMI_SECRET"
"""
DEMO = '[crm]\nkind = "demo"\norders = "orders.jsonl"\n'
ENV = {"AMI_SECRET": "ami-secret-from-env", "CRM_SECRET": "crm-secret-from-env-0123456789"}


def load(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "service.toml"
    path.write_text(text, encoding="utf-8")
    return load_service_config(path, ENV)


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        (BASE.replace('secret_env = "AMI_SECRET"', 'secret = "s3cret"') + DEMO, "ami.secret"),
        ('[service]\nintake_secret = "0123456789abcdef0"\n' + BASE + DEMO,
         "service.intake_secret"),
        (BASE + '[crm]\nkind = "http"\n[crm.http]\npull_url = "http://127.0.0.1:1/o"\n'
         'status_url = "http://127.0.0.1:1/o/{id}"\noutcome_url = "http://127.0.0.1:1/r"\n'
         'secret = "crm-secret-inline-0123456789"\n', "crm.http.secret"),
        (BASE + '[crm]\nkind = "retailcrm"\n[crm.retailcrm]\nurl = "https://shop.example"\n'
         'api_key = "inline-key"\n', "crm.retailcrm.api_key"),
        (BASE + '[crm]\nkind = "sql"\n[crm.sql]\nurl = "postgresql://u:pw@127.0.0.1/shop"\n',
         "crm.sql.url"),
        (BASE + '[crm]\nkind = "sql"\n[crm.sql]\nurl = "postgresql://u@127.0.0.1/shop"\n'
         'password = "pw"\n', "crm.sql.password"),
    ],
)  # fmt: skip
def test_a_secret_written_in_the_config_file_is_refused_naming_the_field(
    tmp_path: Path, toml: str, named: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, toml)
    message = str(error.value)
    assert message.startswith(f"{named}:"), message
    assert "not written in the file" in message or "must not contain the password" in message
    for secret in ("s3cret", "0123456789abcdef0", "inline-key", "pw@", "crm-secret-inline"):
        assert secret not in message  # the refusal does not echo the secret


def test_secrets_from_the_environment_and_files_are_loaded_and_never_shown(
    tmp_path: Path,
) -> None:
    (tmp_path / "intake.secret").write_text("intake-secret-from-file-01\n", encoding="utf-8")
    config = load(tmp_path, '[service]\nintake_secret_file = "intake.secret"\n' + BASE + DEMO)
    assert config.ami.secret == ENV["AMI_SECRET"]
    assert config.service.intake_secret == b"intake-secret-from-file-01"
    shown = repr(config)
    assert "ami-secret-from-env" not in shown
    assert "intake-secret-from-file" not in shown


def test_api_tokens_are_stored_only_as_their_sha256(tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    store = SqlTokenStore(open_database(f"sqlite:///{path}"))
    secrets = [store.create(f"t{i}", "ops", NOW) for i in range(3)]
    assert all(store.authenticate(s) is not None for s in secrets)
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        cells = [str(c) for t in tables for row in db.execute(f'SELECT * FROM "{t}"') for c in row]  # noqa: S608
    raw = path.read_bytes()
    for secret in secrets:
        assert not any(secret in cell for cell in cells)
        assert secret.encode() not in raw
        assert tokens.token_hash(secret) in cells


def test_token_authentication_compares_every_active_hash_in_constant_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By construction: the presented secret is hashed, then compared with every active
    token's hash by hmac.compare_digest; no early exit on a match or a mismatch."""
    store = SqlTokenStore(open_database(f"sqlite:///{tmp_path / 't.db'}"))
    secrets = [store.create(f"t{i}", "viewer", NOW) for i in range(4)]
    store.revoke("t3", NOW)
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)
    for presented in (secrets[0], secrets[2], "cbd_wrong", ""):
        calls.clear()
        store.authenticate(presented)
        assert len(calls) == 3  # the three active tokens, whatever matched
        assert all(b == tokens.token_hash(presented) for _, b in calls)


def test_webhook_signatures_are_compared_with_compare_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[bytes] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append(b)
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    stamp = int(NOW.timestamp())
    headers = {"X-Dialer-Timestamp": str(stamp), "X-Dialer-Event-Id": "e1",
               "X-Dialer-Signature": "sha256=00"}  # fmt: skip
    with pytest.raises(signing.SignatureError):
        signing.verify(b"k" * 16, headers, b"{}", NOW)
    assert calls == [b"sha256=00"]


SECRET_WORDS = ("secret", "token", "signature", "password", "api_key", "digest", "hash")
PACKAGES = ("dialer", "crm_adapter", "campaigns")


def _names(node: ast.AST) -> set[str]:
    """The identifiers an operand reads: ``row.token_hash`` gives ``token_hash``, not
    ``row``; ``ApiToken.name`` gives ``name`` (a column of the token table, not a secret)."""
    owners = {id(sub.value) for sub in ast.walk(node) if isinstance(sub, ast.Attribute)}
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and id(sub) not in owners:
            found.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            found.add(sub.attr)
    return found


def _secret_comparisons(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        sides = [node.left, *node.comparators]
        if any(isinstance(side, ast.Constant) and side.value in (None, "") for side in sides):
            continue  # a presence check, not a comparison of two secrets
        names = set().union(*(_names(side) for side in sides))
        if any(word in name.lower() for name in names for word in SECRET_WORDS):
            where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
            hits.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return hits


def test_no_secret_is_compared_with_eq_anywhere() -> None:
    """Precise grep: an ``==``/``!=`` whose operands read a secret-like identifier (secret,
    token, signature, password, api_key, digest, hash) anywhere in the packages."""
    hits = [
        hit
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        for hit in _secret_comparisons(path)
    ]
    assert hits == []


def test_the_grep_finds_an_eq_on_a_secret(tmp_path: Path) -> None:
    """The grep itself can fail: it flags the comparisons it is meant to forbid."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(row, presented, name):\n"
        "    a = row.token_hash == presented\n"
        "    b = given_signature != expected\n"
        "    c = row.name == name\n"
        "    d = secret == ''\n",
        encoding="utf-8",
    )
    hits = _secret_comparisons(sample)
    assert [h.split(": ", 1)[1] for h in hits] == [
        "row.token_hash == presented",
        "given_signature != expected",
    ]
