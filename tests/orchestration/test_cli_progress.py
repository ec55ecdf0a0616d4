"""The command line's progress bar: it fills from a run's ``[k/n]`` log messages (training's
folds and refit) or from a domain ``detail``, and pulses when nothing says how far it is."""

from __future__ import annotations

import io

import dagster as dg
from rich.console import Console

from orchestration.cli.progress import Done, _Follower, watch_run


@dg.op
def fit_folds(context) -> None:  # type: ignore[no-untyped-def]
    context.log.info("[1/3] walk-forward fold 1 fitted (40 rounds)")
    context.log.info("[2/3] walk-forward fold 2 fitted (38 rounds)")
    context.log.info("fold 2 backtested")


@dg.job
def training() -> None:
    fit_folds()


def _console() -> Console:
    return Console(file=io.StringIO(), width=120)


def test_the_bar_follows_the_runs_k_of_n_messages() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        result = training.execute_in_process(instance=instance)
        follower = _Follower(_console(), instance, result.run_id, None)
        follower.poll()
    text, done = follower.status()
    assert done == Done("walk-forward fold 2 fitted (38 rounds)", 2, 3)
    assert text.endswith("walk-forward fold 2 fitted (38 rounds)")


def test_a_domain_detail_wins_and_no_progress_pulses() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        result = training.execute_in_process(instance=instance)
        minutes = _Follower(
            _console(), instance, result.run_id, lambda _: Done("minutes traded", 120, 390)
        )
        minutes.poll()
        waiting = _Follower(_console(), instance, result.run_id, lambda _: "waiting")
    assert minutes.status()[1] == Done("minutes traded", 120, 390)
    assert waiting.status() == ("[bold]starting[/] · waiting", None)


def test_watch_run_prints_the_runs_messages_and_returns_its_result() -> None:
    console = _console()
    with dg.DagsterInstance.ephemeral() as instance:
        result = watch_run(
            console,
            instance,
            "training",
            lambda run_id: training.execute_in_process(instance=instance, run_id=run_id),
        )
    assert result.success
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[1/3] walk-forward fold 1 fitted" in out and "fit_folds" in out


def test_a_failed_run_is_its_step_and_one_line_without_dagsters_stack_traces(
    cli_env, capfd
) -> None:  # type: ignore[no-untyped-def]
    from orchestration.cli import main

    assert main(["train", "--days", "30"]) != 0  # an empty lake: nothing to train on
    captured = capfd.readouterr()
    assert "✗ model_candidate" in captured.out
    assert "Stack Trace" not in captured.out + captured.err
    assert " - dagster - " not in captured.out + captured.err  # no raw event lines
    [error] = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert "0 stored sessions, the window needs 30" in error
