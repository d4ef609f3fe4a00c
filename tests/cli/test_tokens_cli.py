"""`callback-dialer tokens`: create prints the secret once, list never shows it, revoke."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import run

from dialer.storage.migrate import open_database
from dialer.storage.tokens import Role, SqlTokenStore


def test_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    code, out, _ = run(capsys, "--db", url, "tokens", "create", "shop-crm", "--role", "crm")
    secret = out.splitlines()[0]
    assert code == 0
    assert secret.startswith("cbd_")
    store = SqlTokenStore(open_database(url))
    found = store.authenticate(secret)
    assert found is not None
    assert found.role is Role.CRM
    code, out, _ = run(capsys, "--db", url, "tokens", "list")
    assert "shop-crm\tcrm" in out
    assert "active" in out
    assert secret not in out
    assert run(capsys, "--db", url, "tokens", "revoke", "shop-crm")[0] == 0
    assert store.authenticate(secret) is None
    assert "revoked" in run(capsys, "--db", url, "tokens", "list")[1]


def test_bad_requests_exit_2_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run(capsys, "--db", url, "tokens", "create", "x", "--role", "root")[0] == 2
    code, _, err = run(capsys, "--db", url, "tokens", "revoke", "nobody")
    assert (code, "no active token named 'nobody'" in err) == (2, True)
    run(capsys, "--db", url, "tokens", "create", "x", "--role", "ops")
    code, _, err = run(capsys, "--db", url, "tokens", "create", "x", "--role", "ops")
    assert code == 2
    assert "exists" in err
    assert run(capsys, "--db", url, "tokens", "create", "a b", "--role", "ops")[0] == 2
