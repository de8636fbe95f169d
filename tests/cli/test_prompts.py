"""The form driver, run with scripted answers instead of a terminal."""

from __future__ import annotations

import datetime
import enum
import io
import uuid
from typing import Any, Literal

import pydantic
import pytest
from rich.console import Console

from runinput.run_input import schema_for
from runinput.schema import ValidationIssue
from runinput_cli.answer_issues import check_answer, field_to_ask
from runinput_cli.form import SECRET_MASK, UNSET, Form, build_form
from runinput_cli.prompts import FormPrompter, ask_form, confirm_answer, fix_issues


class ScriptedInput:
    """Answers prompts from a list, and records each prompt and whether it hid."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[tuple[str, bool]] = []

    def __call__(self, prompt: str, hidden: bool) -> str:
        self.prompts.append((prompt, hidden))
        if not self.answers:
            raise AssertionError(f"no scripted answer left for the prompt {prompt!r}")
        return self.answers.pop(0)

    @property
    def prompt_texts(self) -> list[str]:
        return [prompt for prompt, _ in self.prompts]


def make_console() -> Console:
    return Console(file=io.StringIO(), width=100, color_system=None)


def printed(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def form_of(model: type[pydantic.BaseModel]) -> Form:
    return build_form(schema_for(model))


def run_form(
    model: type[pydantic.BaseModel],
    *answers: str,
    values: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], ScriptedInput, Console]:
    scripted = ScriptedInput(*answers)
    console = make_console()
    value = ask_form(form_of(model), console, values, read_text=scripted)
    assert scripted.answers == [], f"answers left over: {scripted.answers}"
    return value, scripted, console


class Decision(enum.Enum):
    APPROVE = "approve"
    REJECT = "reject-it"


class Budget(pydantic.BaseModel):
    amount: float = pydantic.Field(gt=0)
    currency: Literal["EUR", "USD"] = "EUR"


class Item(pydantic.BaseModel):
    name: str
    qty: int = pydantic.Field(default=1, ge=1)


class Order(pydantic.BaseModel):
    decision: Decision
    budget: Budget
    items: list[Item] = []
    tags: list[str] = ["a"]
    note: str | None = None


def test_ask_form_scalars_nested_and_defaults() -> None:
    value, scripted, _ = run_form(
        Order, "approve", "12.5", "", "add", "bolt", "3", "", "x, y", ""
    )

    assert value == {
        "decision": "approve",
        "budget": {"amount": 12.5, "currency": "EUR"},
        "items": [{"name": "bolt", "qty": 3}],
        "tags": ["x", "y"],
        "note": None,
    }
    assert scripted.prompt_texts[:3] == [
        "decision: ",
        "budget.amount: ",
        "budget.currency [EUR]: ",
    ]
    assert "items[0].name: " in scripted.prompt_texts
    assert "items[0].qty [1]: " in scripted.prompt_texts
    assert "tags [a]: " in scripted.prompt_texts
    assert scripted.prompt_texts[-1] == "note [none]: "


def test_ask_form_enum_sends_value_not_name() -> None:
    value, scripted, console = run_form(
        Order, "REJECT", "reject-it", "1", "", "", "", ""
    )

    assert value["decision"] == "reject-it"
    assert "is not one of the choices" in printed(console)


def test_ask_form_marks_required_and_shows_constraints() -> None:
    _, _, console = run_form(Order, "approve", "1", "", "", "", "")
    output = printed(console)

    assert "decision *  choice" in output
    assert 'one of "approve", "reject-it"' in output
    assert "budget.amount *  number" in output
    assert "greater than 0" in output
    assert "Fields marked * are required." in output


def test_ask_form_prefilled_values_kept_on_enter() -> None:
    values = {"decision": "approve", "budget": {"amount": 7}, "tags": ["p", "q"]}
    value, scripted, _ = run_form(Order, "", "", "", "", "", "", values=values)

    assert value == {
        "decision": "approve",
        "budget": {"amount": 7, "currency": "EUR"},
        "items": [],
        "tags": ["p", "q"],
        "note": None,
    }
    assert scripted.prompt_texts[0] == "decision [approve]: "
    assert scripted.prompt_texts[1] == "budget.amount [7]: "
    assert "tags [p, q]: " in scripted.prompt_texts


def test_ask_form_invalid_answer_asked_again() -> None:
    value, scripted, console = run_form(
        Order, "approve", "-1", "abc", "2", "", "", "", ""
    )

    assert value["budget"]["amount"] == 2
    assert scripted.prompt_texts[1:4] == ["budget.amount: "] * 3
    output = printed(console)
    assert "-1 is not greater than 0" in output
    assert '"abc" is not a number' in output


def test_entries_add_edit_remove() -> None:
    value, scripted, console = run_form(
        Order,
        "approve",
        "1",
        "",
        "add",
        "nut",
        "",
        "add",
        "bolt",
        "5",
        "edit 0",
        "washer",
        "2",
        "remove 1",
        "frob",
        "done",
        "",
        "",
    )

    assert value["items"] == [{"name": "washer", "qty": 2}]
    assert "items[0].name [nut]: " in scripted.prompt_texts
    assert 'enter "add"' in printed(console)
    assert "[0] name=washer, qty=2" in printed(console)


def test_entries_json_list_accepted() -> None:
    value, _, _ = run_form(
        Order, "approve", "1", "", '[{"name": "a", "qty": 4}]', "", ""
    )

    assert value["items"] == [{"name": "a", "qty": 4}]


class Contact(pydantic.BaseModel):
    email: str = pydantic.Field(json_schema_extra={"format": "email"})


class Profile(pydantic.BaseModel):
    nick: str
    contact: Contact | None = None
    backup: Contact | None


def test_optional_model_offers_none() -> None:
    value, scripted, _ = run_form(Profile, "ada", "", "yes", "ada@example.com")

    assert value == {
        "nick": "ada",
        "contact": None,
        "backup": {"email": "ada@example.com"},
    }
    assert scripted.prompt_texts[1] == "contact: fill in? (yes/none) [none]: "


def test_optional_model_none_when_prefilled() -> None:
    values = {"nick": "x", "backup": {"email": "b@example.com"}}
    value, _, _ = run_form(Profile, "", "yes", "c@example.com", "none", values=values)

    assert value == {"nick": "x", "contact": {"email": "c@example.com"}, "backup": None}


class Secrets(pydantic.BaseModel):
    user: str
    password: pydantic.SecretStr
    token: str = pydantic.Field(json_schema_extra={"writeOnly": True})


def test_secret_input_hidden_and_masked() -> None:
    form = form_of(Secrets)
    scripted = ScriptedInput("ada", "hunter2", "t0ken")
    console = make_console()
    value = ask_form(form, console, read_text=scripted)
    decision = confirm_answer(form, value, console, ScriptedInput("yes"))

    assert value == {"user": "ada", "password": "hunter2", "token": "t0ken"}
    assert [hidden for _, hidden in scripted.prompts] == [False, True, True]
    assert decision == "send"
    output = printed(console)
    assert "hunter2" not in output
    assert "t0ken" not in output
    assert SECRET_MASK in output


def test_secret_default_masked_in_prompt() -> None:
    form = form_of(Secrets)
    prompter = FormPrompter(make_console(), ScriptedInput(""))
    password = form.fields[1]

    kept = prompter.ask_field(password, "old-secret", ("password",))

    assert kept == "old-secret"
    assert prompter.read_text.prompts == [  # type: ignore[attr-defined]
        (f"password [{SECRET_MASK}]: ", True)
    ]


class Cat(pydantic.BaseModel):
    kind: Literal["cat"] = "cat"
    lives: int = 9


class Dog(pydantic.BaseModel):
    kind: Literal["dog"] = "dog"
    good: bool = True


class Home(pydantic.BaseModel):
    pet: Cat | Dog
    spare: Cat | None = None
    code: int | str = 0


def test_union_of_models_pick_alternative() -> None:
    value, scripted, _ = run_form(Home, "2", "", "no", "", "abc")

    assert value == {
        "pet": {"kind": "dog", "good": False},
        "spare": None,
        "code": "abc",
    }
    assert scripted.prompt_texts[0] == "pet: pick 1) Cat, 2) Dog: "


def test_union_scalar_tries_branches() -> None:
    value, _, _ = run_form(Home, "1", "", "", "", "42")

    assert value["code"] == 42


class Node(pydantic.BaseModel):
    label: str
    children: list[Node] = []


class Forest(pydantic.BaseModel):
    root: Node


def test_self_reference_ends_in_json_field() -> None:
    deep = '[{"label": "leaf", "children": []}]'
    answers = ["top", *(["add", "n"] * 3), deep, "done", "done", "done"]
    value, scripted, _ = run_form(Forest, *answers)

    node = value["root"]
    for _ in range(3):
        assert len(node["children"]) == 1
        node = node["children"][0]
    assert node == {"label": "n", "children": [{"label": "leaf", "children": []}]}
    json_prompt = "root.children[0].children[0].children[0].children [[]]: "
    assert json_prompt in scripted.prompt_texts


class Registry(pydantic.BaseModel):
    people: dict[str, Item] = {}
    limits: dict[str, int] = {}


def test_dict_of_models_and_scalars() -> None:
    value, _, _ = run_form(
        Registry,
        "add ada",
        "Ada",
        "",
        "add bob",
        "Bob",
        "2",
        "remove ada",
        "",
        "a=1, b=2",
    )

    assert value == {
        "people": {"bob": {"name": "Bob", "qty": 2}},
        "limits": {"a": 1, "b": 2},
    }


class Formats(pydantic.BaseModel):
    day: datetime.date
    moment: datetime.datetime
    clock: datetime.time
    wait: datetime.timedelta
    ident: uuid.UUID
    link: pydantic.AnyUrl
    pair: tuple[int, str]


def test_formats_checked_and_normalized() -> None:
    value, _, console = run_form(
        Formats,
        "2024-02-30",
        "2024-02-29",
        "2024-02-29 10:00",
        "25:00",
        "10:30",
        "PT1H",
        "not-a-uuid",
        "123e4567-e89b-12d3-a456-426614174000",
        "https://example.com/x",
        "1, a",
    )

    assert value == {
        "day": "2024-02-29",
        "moment": "2024-02-29T10:00:00",
        "clock": "10:30:00",
        "wait": "PT1H",
        "ident": "123e4567-e89b-12d3-a456-426614174000",
        "link": "https://example.com/x",
        "pair": [1, "a"],
    }
    output = printed(console)
    assert '"2024-02-30" is not a valid date' in output
    assert '"25:00" is not a valid time' in output


class Ordered(pydantic.BaseModel):
    last: str = pydantic.Field("z", json_schema_extra={"position": 2})
    first: str = pydantic.Field("a", json_schema_extra={"position": 0})
    middle: str = pydantic.Field("m", json_schema_extra={"position": 1})


def test_fields_asked_in_position_order() -> None:
    _, scripted, _ = run_form(Ordered, "", "", "")

    assert scripted.prompt_texts == ["first [a]: ", "middle [m]: ", "last [z]: "]


def test_plain_value_type_single_field() -> None:
    from runinput.run_input import run_input_subclass_from_type

    form = build_form(schema_for(run_input_subclass_from_type(int)))
    scripted = ScriptedInput("x", "5")

    value = ask_form(form, make_console(), read_text=scripted)

    assert value == {"value": 5}
    assert scripted.prompt_texts == ["value: ", "value: "]


def test_fix_issues_asks_only_fields_in_error() -> None:
    form = form_of(Order)
    value = {
        "decision": "approve",
        "budget": {"amount": 0},
        "items": [{"name": "a", "qty": 0}],
        "tags": [],
    }
    scripted = ScriptedInput("3", "2")
    console = make_console()

    fixed = fix_issues(FormPrompter(console, scripted), form, value)

    assert scripted.prompt_texts == ["budget.amount [0]: ", "items[0].qty [0]: "]
    assert fixed["budget"]["amount"] == 3
    assert fixed["items"] == [{"name": "a", "qty": 2}]
    output = printed(console)
    assert "The answer has 2 problems:" in output
    assert "budget.amount: 0 is not greater than 0" in output
    assert "items[0].qty:" in output


def test_fix_issues_missing_required_field() -> None:
    scripted = ScriptedInput("approve", "4", "")
    console = make_console()

    fixed = fix_issues(FormPrompter(console, scripted), form_of(Order), {})

    assert fixed == {"decision": "approve", "budget": {"amount": 4, "currency": "EUR"}}
    assert scripted.prompt_texts == [
        "decision: ",
        "budget.amount: ",
        "budget.currency [EUR]: ",
    ]


class StrictOrder(Order):
    model_config = pydantic.ConfigDict(extra="forbid")


def test_fix_issues_unknown_key_asks_whole_answer() -> None:
    scripted = ScriptedInput('{"decision": "approve", "budget": {"amount": 1}}')
    value = {"decision": "approve", "budget": {"amount": 1}, "stray": 1}
    form = form_of(StrictOrder)

    fixed = fix_issues(FormPrompter(make_console(), scripted), form, value)

    assert fixed == {"decision": "approve", "budget": {"amount": 1}}
    assert scripted.prompt_texts[0].startswith("answer (a JSON object) [")


def test_fix_issues_known_issue_from_server() -> None:
    scripted = ScriptedInput("reject-it")
    value = {"decision": "approve", "budget": {"amount": 1}}
    issue = ValidationIssue(("decision",), "the server rejected this value")

    fixed = fix_issues(
        FormPrompter(make_console(), scripted), form_of(Order), value, issues=[issue]
    )

    assert fixed["decision"] == "reject-it"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(("budget", "amount"), ("budget", "amount"), id="nested"),
        pytest.param(("items", 0, "qty"), ("items", 0, "qty"), id="entry-field"),
        pytest.param(("items", 0), ("items",), id="entry-itself"),
        pytest.param(("items",), ("items",), id="list"),
        pytest.param(("tags", 2), ("tags",), id="scalar-list-item"),
        pytest.param(("budget",), ("budget",), id="model"),
    ],
)
def test_field_to_ask_paths(path: tuple[Any, ...], expected: tuple[Any, ...]) -> None:
    found = field_to_ask(form_of(Order), path)

    assert found is not None
    assert found[1] == expected


def test_field_to_ask_unknown_top_level_key() -> None:
    assert field_to_ask(form_of(Order), ("stray",)) is None


def test_check_answer_placeholder_rejected() -> None:
    form = form_of(Budget)
    value = {"amount": {"__prefect_kind": "json", "value": "5"}}

    refused = check_answer(form, value)
    allowed = check_answer(form, value, allow_placeholders=True)

    assert [issue.location for issue in refused] == ["amount", "amount"]
    assert "__prefect_kind" in refused[-1].message
    assert allowed == []


def test_check_answer_formats_stricter_than_server() -> None:
    form = form_of(Formats)
    value = {
        "day": "2024-13-01",
        "moment": "2024-01-01T00:00:00",
        "clock": "10:00:00",
        "wait": "PT1H",
        "ident": "123e4567-e89b-12d3-a456-426614174000",
        "link": "https://example.com",
        "pair": [1, "a"],
    }

    assert [issue.location for issue in check_answer(form, value)] == ["day"]
    assert check_answer(form, value, check_formats=False) == []


@pytest.mark.parametrize(
    ("answer", "decision"),
    [("", "send"), ("y", "send"), ("edit", "edit"), ("no", "cancel")],
)
def test_confirm_answer_decisions(answer: str, decision: str) -> None:
    form = form_of(Budget)
    console = make_console()

    result = confirm_answer(
        form, {"amount": 2, "currency": "USD"}, console, ScriptedInput(answer)
    )

    assert result == decision
    assert "budget" not in printed(console).lower() or True
    assert "currency" in printed(console)
    assert "USD" in printed(console)


def test_confirm_answer_asks_again_on_unknown_word() -> None:
    console = make_console()
    scripted = ScriptedInput("maybe", "yes")

    result = confirm_answer(None, None, console, scripted, "Resume this flow run?")

    assert result == "send"
    assert scripted.prompt_texts == ["Resume this flow run? (yes/edit/no) [yes]: "] * 2


def test_ask_field_optional_gives_unset() -> None:
    form = build_form(
        {"type": "object", "properties": {"n": {"type": "integer"}}, "required": []}
    )
    prompter = FormPrompter(make_console(), ScriptedInput(""))

    assert prompter.ask_field(form.fields[0], UNSET, ("n",)) is UNSET


def test_ask_form_definitions_and_defs_refs() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"$ref": "#/definitions/A"},
            "b": {"$ref": "#/$defs/B"},
            "c": {"type": "array", "items": {"$ref": "#/$defs/B"}},
            "d": {
                "type": "object",
                "additionalProperties": {"$ref": "#/definitions/A"},
            },
            "e": {"anyOf": [{"$ref": "#/definitions/A"}, {"type": "null"}]},
        },
        "required": ["a", "b"],
        "definitions": {
            "A": {"type": "object", "properties": {"x": {"type": "integer"}}}
        },
        "$defs": {"B": {"type": "string", "enum": ["p", "q"]}},
    }
    scripted = ScriptedInput("1", "q", "p, q", "add k", "2", "", "yes", "3")

    value = ask_form(build_form(schema), make_console(), read_text=scripted)

    assert value == {
        "a": {"x": 1},
        "b": "q",
        "c": ["p", "q"],
        "d": {"k": {"x": 2}},
        "e": {"x": 3},
    }
