import enum
import inspect
import json
import subprocess
import sys
import uuid
from typing import Literal

import pydantic
import pytest
from prefect._internal.pydantic.v2_schema import create_v2_schema

import runinput
from runinput import RunInput, run_input_subclass_from_type
from runinput.run_input import message_for, schema_for


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(pydantic.BaseModel):
    street: str
    city: str = "Oslo"


class Order(RunInput):
    quantity: int = pydantic.Field(description="How many to ship", ge=1, le=10)
    color: Color = Color.RED
    size: Literal["S", "M", "L"] = "M"
    address: Address | None = None
    tags: list[str] = []


class Point(pydantic.BaseModel):
    x: int
    y: int


def test_subclass_names_follow_prefect() -> None:
    assert run_input_subclass_from_type(int).__name__ == "intAutomaticRunInput"
    assert run_input_subclass_from_type(list[int]).__name__ == "listAutomaticRunInput"
    assert run_input_subclass_from_type(Point).__name__ == "PointRunInput"
    assert run_input_subclass_from_type(Order) is Order


def test_subclass_for_model_is_cached() -> None:
    assert run_input_subclass_from_type(Point) is run_input_subclass_from_type(Point)


def test_schema_matches_prefect_schema() -> None:
    expected = create_v2_schema(Order.__name__, model_base=Order)

    assert schema_for(Order) == expected


def test_with_initial_data_keeps_description_and_constraints() -> None:
    preset = Order.with_initial_data(description="Ship it?", quantity=3)

    field = schema_for(preset)["properties"]["quantity"]

    assert field["default"] == 3
    assert field["description"] == "How many to ship"
    assert field["minimum"] == 1
    assert field["maximum"] == 10
    assert preset._description == "Ship it?"
    assert preset.__name__ == "Order"


def test_with_initial_data_default_applies_to_instances() -> None:
    preset = Order.with_initial_data(quantity=3, color=Color.BLUE)

    instance = preset()

    assert instance.quantity == 3
    assert instance.color is Color.BLUE


def test_with_initial_data_replaces_default_factory() -> None:
    class Recipients(RunInput):
        notify: list[str] = pydantic.Field(
            default_factory=lambda: ["#ops"], description="Channels", max_length=3
        )

    preset = Recipients.with_initial_data(notify=["#releases"])

    field = schema_for(preset)["properties"]["notify"]
    assert preset().notify == ["#releases"]
    assert field["default"] == ["#releases"]
    assert field["description"] == "Channels"
    assert field["maxItems"] == 3


def test_with_initial_data_keeps_validation() -> None:
    preset = Order.with_initial_data(quantity=3)

    with pytest.raises(pydantic.ValidationError):
        preset(quantity=11)


@pytest.mark.parametrize("name", ["metadata", "respond", "save", "load", "receive"])
def test_field_clashing_with_method_is_refused(name: str) -> None:
    with pytest.raises(TypeError, match=f"field '{name}'"):
        type("Clash", (RunInput,), {"__annotations__": {name: int}})


def test_message_for_plain_model_uses_model_prefix() -> None:
    key, value, sender = message_for(Point(x=1, y=2), None, None)

    assert key.startswith("pointruninput-auto-")
    uuid.UUID(key.removeprefix("pointruninput-auto-"))
    assert json.loads(value) == {"x": 1, "y": 2}
    assert sender is None


def test_message_for_plain_value_wraps_value() -> None:
    key, value, _ = message_for(5, "someone", None)

    assert key.startswith("intautomaticruninput-auto-")
    assert value == '{"value":5}'


def test_message_for_enum_stores_member_value() -> None:
    _, value, _ = message_for(Order(quantity=2, color=Color.BLUE), None, None)

    assert json.loads(value)["color"] == "blue"


def test_message_for_explicit_prefix() -> None:
    key, _, _ = message_for(Order(quantity=2), None, "custom")

    assert key.startswith("custom-")


def test_message_for_sender_inside_flow_run_context() -> None:
    run_id = uuid.uuid4()

    with runinput.flow_run_context(run_id):
        _, _, sender = message_for(5, None, None)

    assert sender == f"prefect.flow-run.{run_id}"


def test_public_names_sorted() -> None:
    assert runinput.__all__ == sorted(runinput.__all__)


def test_public_names_resolve() -> None:
    exported = set(runinput._EXPORTS)

    assert exported == set(runinput.__all__)
    for name in runinput.__all__:
        assert getattr(runinput, name) is not None, name
    assert exported <= set(dir(runinput))


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Recieve'"):
        runinput.Recieve  # noqa: B018


def test_client_import_skips_run_input_classes() -> None:
    probe = (
        "import sys; from runinput import Client; "
        "print(sorted(name for name in ('runinput.run_input', 'runinput.receive') "
        "if name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "name",
    [
        "AutomaticRunInput",
        "GetAutomaticInputHandler",
        "GetInputHandler",
        "Keyset",
        "RunInput",
        "RunInputMetadata",
        "asend_input",
        "keyset_from_base_key",
        "keyset_from_paused_state",
        "receive_input",
        "run_input_subclass_from_type",
        "send_input",
    ],
)
def test_prefect_input_name_exported(name: str) -> None:
    assert name in runinput.__all__
    assert hasattr(runinput, name)


@pytest.mark.parametrize(
    "method",
    [
        "send_to",
        "asend_to",
        "respond",
        "arespond",
        "save",
        "asave",
        "load",
        "aload",
        "load_from_flow_run_input",
        "keyset_from_type",
        "with_initial_data",
        "receive",
        "subclass_from_base_model_type",
    ],
)
def test_run_input_has_prefect_method(method: str) -> None:
    import prefect.input

    ours = inspect.signature(getattr(RunInput, method)).parameters
    theirs = inspect.signature(getattr(prefect.input.RunInput, method)).parameters

    assert list(ours) == list(theirs)
