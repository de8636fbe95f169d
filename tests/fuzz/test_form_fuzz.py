"""Property tests: the form and the local validator against pydantic and the server.

Schemas are the ones a pause stores for generated pydantic models. The local
properties run many examples in memory: nothing crashes, and every answer
that `validate` accepts is also accepted by the flow's model and by the
server's validation rules (`server_verdict`). The last property sends
accepted answers to a real server, with a bounded number of examples.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from runinput.run_input import schema_for
from runinput.schema import server_verdict, validate
from runinput_cli.form import (
    UNSET,
    AnswerError,
    build_form,
    fill_defaults,
    parse_answer,
)
from tests.fuzz.pydantic_shapes import answer_texts, models, nearly_valid
from tests.prefect_server import PrefectServer
from tests.server_api import ServerApi

LOCAL_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SERVER_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)


def check_accepted(model: type[pydantic.BaseModel], value: Any, schema: Any) -> None:
    """Check that the model and the server's rules accept a value `validate` passed."""
    model.model_validate(value)
    assert server_verdict(value, schema) is None


def answer_from_form(data: st.DataObject, schema: dict[str, Any], valid: Any) -> Any:
    """Type an answer field by field, as a person would, and fill in defaults."""
    form = build_form(schema)
    answer: dict[str, Any] = {}
    for form_field in form.fields:
        if form_field.name in valid:
            text = data.draw(answer_texts(valid[form_field.name]), form_field.path)
        else:
            text = data.draw(st.just(""), form_field.path)
        try:
            parsed = parse_answer(form_field, text)
        except AnswerError:
            continue
        if parsed is UNSET:
            continue
        assert validate(parsed, form_field.schema) == [], (form_field.path, parsed)
        answer[form_field.name] = parsed
    return fill_defaults(form, answer)


@LOCAL_SETTINGS
@given(data=st.data())
def test_validate_accepts_only_model_values(data: st.DataObject) -> None:
    model, values = data.draw(models(), "model")
    schema = schema_for(model)
    value = data.draw(nearly_valid(values), "value")

    issues = validate(value, schema)

    event("accepted" if not issues else "rejected")
    if not issues:
        check_accepted(model, value, schema)


@LOCAL_SETTINGS
@given(data=st.data())
def test_validate_accepts_model_values(data: st.DataObject) -> None:
    model, values = data.draw(models(), "model")
    schema = schema_for(model)
    value = data.draw(values, "value")
    model.model_validate(value)

    issues = validate(value, schema)

    assert issues == [], (json.dumps(schema), value)
    assert server_verdict(value, schema) is None


@LOCAL_SETTINGS
@given(data=st.data())
def test_form_answers_accepted_everywhere(data: st.DataObject) -> None:
    model, values = data.draw(models(), "model")
    schema = schema_for(model)
    valid = data.draw(values, "valid value")

    answer = answer_from_form(data, schema, valid)
    issues = validate(answer, schema)

    event("accepted" if not issues else "rejected")
    if not issues:
        check_accepted(model, answer, schema)


@pytest.fixture(scope="module")
def server_api(prefect_server: PrefectServer) -> Iterator[ServerApi]:
    with ServerApi(prefect_server.api_url) as api:
        yield api


@pytest.mark.integration
@SERVER_SETTINGS
@given(data=st.data())
def test_accepted_answers_accepted_by_server(
    server_api: ServerApi, data: st.DataObject
) -> None:
    model, values = data.draw(models(), "model")
    schema = schema_for(model)
    valid = data.draw(values, "valid value")
    if data.draw(st.booleans(), "typed in the form"):
        answer = answer_from_form(data, schema, valid)
    else:
        answer = valid
    assume(validate(answer, schema) == [])
    flow_run_id = server_api.create_flow_run("fuzz-answers")
    server_api.pause_by_api(flow_run_id, schema=schema)

    response = server_api.request(
        "POST", f"/flow_runs/{flow_run_id}/resume", {"run_input": answer}
    )

    assert response.status_code in (200, 201), response.text
    verdict = response.json()
    assert verdict["status"] == "ACCEPT", (json.dumps(schema), answer, verdict)
