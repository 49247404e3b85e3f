"""The `parley` command as an administrator uses it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

PARLEY = [sys.executable, "-m", "server"]


def run(*args: str, stdin: str = "", data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PARLEY, *args, "--data-dir", str(data)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_team_advisor_and_ops_accounts(tmp_path):
    data = tmp_path / "data"
    assert (
        run("team", "add", "--slug", "nord", "--name", "Beratung Nord", data=data).returncode == 0
    )
    done = run(
        "advisor",
        "add",
        "--team",
        "nord",
        "--username",
        "anna",
        "--display-name",
        "Anna A",
        "--password-stdin",
        stdin="a long enough password\n",
        data=data,
    )
    assert done.returncode == 0, done.stderr
    assert (
        run(
            "ops", "add", "--username", "olaf", stdin="another long password\n", data=data
        ).returncode
        == 0
    )

    db = sqlite3.connect(data / "parley.db")
    rows = db.execute(
        "SELECT username, role, password_hash FROM accounts ORDER BY username"
    ).fetchall()
    assert [(u, r) for u, r, _ in rows] == [("anna", "advisor"), ("olaf", "ops")]
    assert all(h.startswith("$argon2id$") and "long" not in h for _, _, h in rows)


def test_clear_errors_and_nothing_changed(tmp_path):
    data = tmp_path / "data"
    run("team", "add", "--slug", "nord", "--name", "Nord", data=data)
    cases = [
        (("team", "add", "--slug", "nord", "--name", "Again"), "", "exists already"),
        (("team", "add", "--slug", "Bad Slug", "--name", "X"), "", "slug"),
        (
            ("advisor", "add", "--team", "sued", "--username", "bob"),
            "long enough password\n",
            "no team",
        ),
        (("advisor", "add", "--team", "nord", "--username", "bob"), "short\n", "at least 12"),
    ]
    for args, stdin, message in cases:
        done = run(*args, stdin=stdin, data=data)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
    db = sqlite3.connect(data / "parley.db")
    assert db.execute("SELECT count(*) FROM accounts").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM teams").fetchone() == (1,)


def test_db_upgrade_is_idempotent(tmp_path):
    for _ in range(2):
        done = run("db", "upgrade", data=tmp_path)
        assert done.returncode == 0 and "newest schema" in done.stdout
