"""Airflow DAG: honkdata's nightly retrain as one task.

Copy this file into the DAGs folder of an Airflow (2.7 or 3) whose workers have honkdata installed. The
command's exit codes map onto task states: 0 (promoted or up to date) succeeds, 3 (the gate held the
champion) is skipped — visible, not a failure — and 1 or 2 fail and retry. Its last line of stdout,
the JSON summary, is pushed to XCom for downstream tasks (a Slack message, a canary deployment).
"""

from datetime import datetime, timedelta

from airflow import DAG

try:  # Airflow 3 moved the operator into the standard provider
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator

# Where honkdata and its config live on the workers; override with Airflow Variables if they differ.
HONKDATA = "/srv/honkdata/.venv/bin/honkdata"
RETRAIN_CONFIG = "/srv/honkdata/configs/retrain.yaml"
RETRAIN_COMMAND = f"{HONKDATA} retrain --config {RETRAIN_CONFIG} --json"
HELD_BY_GATE = 3

with DAG(
    dag_id="honkdata_retrain",
    description="new logs -> snapshot -> challenger -> gate -> champion",
    schedule="30 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,  # a missed night needs one run, not one per night: retrain takes every new file at once
    max_active_runs=1,  # honkdata's own lock refuses a second run anyway; this keeps it off the queue
    default_args={"retries": 1, "retry_delay": timedelta(minutes=30), "owner": "ml"},
    tags=["honkdata"],
) as dag:
    retrain = BashOperator(
        task_id="retrain",
        bash_command=RETRAIN_COMMAND,
        skip_on_exit_code=HELD_BY_GATE,
        do_xcom_push=True,  # the last line of stdout: the run's JSON summary
        execution_timeout=timedelta(hours=6),
    )
