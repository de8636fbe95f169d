import uuid

import pytest

from runinput import NoFlowRunError, flow_run_context
from runinput.context import (
    current_flow_run_id,
    ensure_flow_run_id,
    flow_run_id_from_sender,
)


def test_ensure_prefers_explicit_id() -> None:
    explicit = uuid.uuid4()

    with flow_run_context(uuid.uuid4()):
        assert ensure_flow_run_id(explicit) == explicit


def test_context_manager_sets_and_restores() -> None:
    outer, inner = uuid.uuid4(), uuid.uuid4()

    with flow_run_context(outer):
        with flow_run_context(inner):
            assert current_flow_run_id() == inner
        assert current_flow_run_id() == outer


def test_environment_variable_is_last_resort(monkeypatch: pytest.MonkeyPatch) -> None:
    from_env, from_block = uuid.uuid4(), uuid.uuid4()
    monkeypatch.setenv("PREFECT__FLOW_RUN_ID", str(from_env))

    assert current_flow_run_id() == from_env
    with flow_run_context(from_block):
        assert current_flow_run_id() == from_block


def test_invalid_environment_variable_names_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PREFECT__FLOW_RUN_ID", "not-a-uuid")

    with pytest.raises(NoFlowRunError, match="'not-a-uuid'"):
        current_flow_run_id()


def test_no_flow_run_error_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT__FLOW_RUN_ID", raising=False)

    with pytest.raises(NoFlowRunError) as caught:
        ensure_flow_run_id()

    message = str(caught.value)
    assert "flow_run_id=" in message
    assert "flow_run_context" in message
    assert "PREFECT__FLOW_RUN_ID" in message


def test_invalid_explicit_id_names_value() -> None:
    with pytest.raises(NoFlowRunError, match="'abc'"):
        ensure_flow_run_id("abc")


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        (
            "prefect.flow-run.6f1f0c9e-0000-4000-8000-000000000003",
            uuid.UUID("6f1f0c9e-0000-4000-8000-000000000003"),
        ),
        ("prefect.flow-run.garbage", None),
        ("runinput.user.alice@host", None),
        (None, None),
    ],
)
def test_sender_parsing(sender: str | None, expected: uuid.UUID | None) -> None:
    assert flow_run_id_from_sender(sender) == expected
