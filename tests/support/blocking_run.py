"""A run that blocks until its process is killed, like a ``make demo`` run mid-way:
``python -m tests.support.blocking_run`` (DAGSTER_HOME names the instance). Prints
``started <run_id>`` once the run's op is executing."""

import threading

import dagster as dg


@dg.op
def block(context: dg.OpExecutionContext) -> None:
    print(f"started {context.run_id}", flush=True)
    threading.Event().wait()


@dg.job
def blocking() -> None:
    block()


if __name__ == "__main__":
    with dg.DagsterInstance.get() as instance:
        blocking.execute_in_process(instance=instance)
