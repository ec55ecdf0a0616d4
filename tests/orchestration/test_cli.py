"""The command line: typos of settings are warned about, user errors are one line with a
hint and exit 2 (a traceback only with --debug), ``dev`` refuses a taken port or a second
instance before starting anything, and the read-only commands print the ledger."""

from __future__ import annotations

import fcntl
import os
import socket

import pytest

from orchestration import environment
from orchestration.cli import main
from orchestration.cli.typos import known_variables, likely_typos


def test_typos_of_settings_are_recognised_and_other_variables_are_not() -> None:
    names = [
        "SYMBOL",
        "BUY_THRESHOLD",
        "MAX_POSITION",
        "symbols",
        "PATH",
        "HOME",
        "LANG",
        "DAGSTER_HOME",
        "ALERT_WEBHOOK_URL",
        "TERM",
        "PYTHONPATH",
    ]
    assert likely_typos(names, known_variables()) == {
        "SYMBOL": "SYMBOLS",
        "BUY_THRESHOLD": "BUY_PROBABILITY_THRESHOLD",
        "MAX_POSITION": "MAX_POSITION_FRACTION",
    }


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_typo_is_warned_about_before_the_command_runs(cli_env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SYMBOL", "AAPL")
    code, _, err = _run(capsys, "ingest", "--from", "2026-11-02", "--to", "2026-10-01")
    assert "warning: SYMBOL is not a setting; did you mean SYMBOLS?" in err
    assert code == 2


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["ingest", "--from", "2026-13-01", "--to", "2026-11-02"],
            "error: --from '2026-13-01' is not a date (hint: write it as YYYY-MM-DD)",
        ),
        (
            ["ingest", "--from", "2026-11-02", "--to", "2026-10-01"],
            "error: --to 2026-10-01 is before --from 2026-11-02 (hint: swap the two dates)",
        ),
        (
            ["demo", "--days", "15"],
            "error: --days 15: 15 days cannot hold 4 folds of 5 test days, a 0-day embargo, 5 "
            "early-stopping days and 5 days to fit on (30 days needed) (hint: give --days a "
            "larger window)",
        ),
        (
            ["train", "--days", "29"],
            "error: --days 29: 29 days cannot hold 4 folds of 5 test days, a 0-day embargo, 5 "
            "early-stopping days and 5 days to fit on (30 days needed) (hint: give --days a "
            "larger window)",
        ),
        (
            ["backtest", "--day", "2026-11-26"],
            "error: no NYSE session between 2026-11-26 and 2026-11-26 (hint: widen the range)",
        ),
        (
            ["report", "model:x"],
            "error: 'model:x' is not a report target (hint: use a session id (12 or session:12), model:ID or champion)",
        ),
        (
            ["promote", "999", "--reason", "test"],
            "error: no model version 999 (hint: list the models with `trading-platform report champion`)",
        ),
        (
            ["trades", "42"],
            "error: no trading session 42 (hint: list the sessions with `trading-platform sessions`)",
        ),
    ],
)
def test_user_errors_are_one_line_with_a_hint(cli_env, capsys, args, line) -> None:
    code, _, err = _run(capsys, *args)
    assert code == 2
    assert err.strip().splitlines() == [line]


def test_debug_shows_the_traceback(cli_env, capsys) -> None:
    code, _, err = _run(capsys, "--debug", "trades", "42")
    assert code == 2
    assert "Traceback" in err and "UnknownSessionError" in err


def test_bad_settings_are_one_line(cli_env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("BUY_PROBABILITY_THRESHOLD", "1.5")
    code, _, err = _run(capsys, "sessions")
    assert code == 2
    [line] = err.strip().splitlines()
    assert line.startswith(
        "error: BUY_PROBABILITY_THRESHOLD: Input should be less than or equal to 1"
    )
    assert "(hint: check the environment variables" in line


def test_sessions_lists_an_empty_ledger(cli_env, capsys) -> None:
    code, out, _ = _run(capsys, "sessions")
    assert code == 0
    assert "Trading sessions" in out


def test_dev_refuses_a_taken_port_before_starting_anything(cli_env, capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = _run(capsys, "dev", "--port", str(port))
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use (hint: stop what listens there, "
        f"or pick another port: `trading-platform dev --port {port + 1}` (make dev PORT={port + 1}))"
    ]
    assert not (cli_env / "dagster" / "home").exists()  # nothing was prepared or started


def test_dev_refuses_a_second_dev_on_the_same_instance(cli_env, capsys) -> None:
    lock = environment.DEV_LOCK
    lock.parent.mkdir(parents=True)
    with open(lock, "w") as held:
        held.write("4242 3000\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = _run(capsys, "dev", "--port", "0")
    assert code == 2
    assert err.strip() == (
        "error: another `trading-platform dev` already serves this instance (pid 4242, "
        "http://127.0.0.1:3000) (hint: use that one, or stop it first (Ctrl-C in its terminal))"
    )
    assert os.path.exists(lock)


def test_sim_delegates_to_the_emulator(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sim", "--help"])
    assert exited.value.code == 0
    assert "--session-date" in capsys.readouterr().out
