"""Validation and key prefixes for `send`, so that the receiving flow finds the input.

A message is stored under `{key prefix}-{uuid4}`, and a receiving flow reads
one key prefix, which `prefect.input` derives from the type it receives:

- `--type int` wraps the value in `intAutomaticRunInput`, stored as
  `{"value": 5}` under `intautomaticruninput-auto`, the prefix that
  `receive_input(int)` reads. A generic type takes its origin's name, so
  `list[int]` gives `listautomaticruninput-auto`.
- `--model pkg.module:NumberData` validates with the class. A RunInput
  subclass (runinput's or Prefect's) stores its fields under
  `numberdata-auto`; a plain pydantic model `Point` becomes `PointRunInput`,
  prefix `pointruninput-auto`.
- With neither, the type is the JSON value's own (5 is an int, 5.0 a float),
  so the key prefix is the one that `send_input(value)` would use.

`--key-prefix` replaces the prefix and keeps the rest.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import inspect
import re
import sys
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidAnswerError

if TYPE_CHECKING:
    import pydantic

SIMPLE_TYPES: dict[str, Any] = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
    "datetime": datetime.datetime,
    "date": datetime.date,
    "uuid": uuid.UUID,
}
"""The names `--type` accepts, besides `list[T]` and `dict[str, T]`."""

TYPE_NAMES_HELP = (
    "int, float, str, bool, list, dict, datetime, date, uuid, list[T] or dict[str, T]"
)

_GENERIC_NAME = re.compile(r"(\w+)\s*\[(.*)\]", re.DOTALL)

# The classes that make a model a RunInput, stored under its own name. Prefect's
# are matched by module and name so that Prefect is never imported here.
_RUN_INPUT_BASES = frozenset(
    {
        ("runinput.run_input", "BaseRunInput"),
        ("prefect.input.run_input", "RunInput"),
        ("prefect.input.run_input", "AutomaticRunInput"),
    }
)


@dataclass(frozen=True)
class Message:
    """The key prefix and JSON text of one input that `send` stores."""

    key_prefix: str
    value: str


@dataclass(frozen=True)
class InputEncoder:
    """Validates JSON values and turns them into messages for one receiver.

    Set `model` for `--model`, `value_type` (with `type_name`) for `--type`,
    or neither to take each value's own JSON type.
    """

    model: type[pydantic.BaseModel] | None = None
    value_type: Any = None
    type_name: str | None = None
    key_prefix: str | None = None

    @property
    def label(self) -> str:
        """What values are validated as, for messages."""
        if self.model is not None:
            return self.model.__name__
        if self.type_name is not None:
            return self.type_name
        return "its JSON type"

    def encode(self, value: Any) -> Message:
        """Validate `value` and return the message to store.

        Raises:
            InvalidAnswerError: the value does not fit the model or type.
        """
        if self.model is not None:
            return self._encode_with_model(value)
        value_type = self.value_type
        if value_type is None:
            if value is None:
                raise InvalidAnswerError(
                    "cannot tell the type of a null value",
                    hint="pass --type, --model or --key-prefix to say what it is",
                )
            value_type = type(value)
        return self._encode_with_type(value, value_type)

    def schema(self) -> dict[str, Any] | None:
        """Return the values' JSON schema, or None when each value sets its type."""
        import pydantic

        from runinput.run_input import schema_for

        if self.model is not None:
            return schema_for(self.model)
        if self.value_type is not None:
            schema: dict[str, Any] = pydantic.TypeAdapter(self.value_type).json_schema()
            return schema
        return None

    def _encode_with_model(self, value: Any) -> Message:
        import pydantic

        from runinput.keys import default_key_prefix

        assert self.model is not None
        message_class = self._message_class
        try:
            instance = message_class.model_validate(value)
        except pydantic.ValidationError as exc:
            raise _invalid_value_error(exc, self.label) from None
        prefix = self.key_prefix or default_key_prefix(message_class.__name__)
        return Message(prefix, instance.model_dump_json())

    def _encode_with_type(self, value: Any, value_type: Any) -> Message:
        import pydantic

        from runinput.keys import default_key_prefix
        from runinput.run_input import run_input_subclass_from_type

        label = self.type_name or type(value).__name__
        try:
            validated = pydantic.TypeAdapter(value_type).validate_python(value)
        except pydantic.ValidationError as exc:
            raise _invalid_value_error(exc, label) from None
        message_class = run_input_subclass_from_type(value_type)
        instance = message_class.model_validate({"value": validated})
        prefix = self.key_prefix or default_key_prefix(message_class.__name__)
        return Message(prefix, instance.model_dump_json())

    @cached_property
    def _message_class(self) -> type[pydantic.BaseModel]:
        from runinput.run_input import run_input_subclass_from_type

        assert self.model is not None
        if is_run_input_class(self.model):
            return self.model
        return run_input_subclass_from_type(self.model)


def is_run_input_class(cls: type) -> bool:
    """Tell whether `cls` derives from runinput's or Prefect's RunInput classes."""
    return any(
        (base.__module__, base.__qualname__) in _RUN_INPUT_BASES
        for base in inspect.getmro(cls)
    )


def build_encoder(
    type_name: str | None, model_spec: str | None, key_prefix: str | None
) -> InputEncoder:
    """Build the encoder that `--type`, `--model` and `--key-prefix` ask for.

    Raises:
        InvalidAnswerError: both a type and a model are given, or either
            cannot be used.
    """
    if type_name is not None and model_spec is not None:
        raise InvalidAnswerError(
            "--type and --model cannot be used together",
            hint="use --type for plain values and --model for a model class",
        )
    if key_prefix is not None:
        check_key_prefix_text(key_prefix)
    if model_spec is not None:
        return InputEncoder(model=load_model(model_spec), key_prefix=key_prefix)
    if type_name is not None:
        value_type = parse_type_name(type_name)
        return InputEncoder(
            value_type=value_type, type_name=type_name.strip(), key_prefix=key_prefix
        )
    return InputEncoder(key_prefix=key_prefix)


def check_key_prefix_text(key_prefix: str) -> None:
    """Reject a key prefix that is empty, has spaces or ends in a dash."""
    if not key_prefix or key_prefix != key_prefix.strip() or " " in key_prefix:
        raise InvalidAnswerError(
            f"invalid key prefix {key_prefix!r}: it must be non-empty and have "
            "no spaces",
            hint="for example --key-prefix approvals",
        )
    if key_prefix.endswith("-"):
        raise InvalidAnswerError(
            f"invalid key prefix {key_prefix!r}: it must not end in '-', because "
            "the key adds '-' and a UUID",
            hint=f"use --key-prefix {key_prefix.rstrip('-')}",
        )


def parse_type_name(text: str) -> Any:
    """Turn a `--type` name such as `int` or `list[int]` into the Python type.

    Raises:
        InvalidAnswerError: the name is not one that `--type` accepts.
    """
    name = text.strip()
    simple = SIMPLE_TYPES.get(name)
    if simple is not None:
        return simple
    match = _GENERIC_NAME.fullmatch(name)
    if match is None:
        raise _unknown_type_error(text)
    origin, arguments = match.group(1), _split_arguments(match.group(2))
    if origin == "list" and len(arguments) == 1:
        return list[parse_type_name(arguments[0])]  # type: ignore[misc]
    if origin == "dict" and len(arguments) == 2:
        if arguments[0].strip() != "str":
            raise InvalidAnswerError(
                f"invalid --type {text!r}: JSON object keys are strings, so the "
                "key type must be str",
                hint="for example --type 'dict[str, int]'",
            )
        return dict[str, parse_type_name(arguments[1])]  # type: ignore[misc]
    raise _unknown_type_error(text)


def _split_arguments(text: str) -> list[str]:
    """Split `str, list[int]` at the commas that are not inside brackets."""
    arguments, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "," and depth == 0:
            arguments.append(text[start:index])
            start = index + 1
    arguments.append(text[start:])
    return arguments


def _unknown_type_error(text: str) -> InvalidAnswerError:
    return InvalidAnswerError(
        f"unknown --type {text!r}",
        hint=f"use one of: {TYPE_NAMES_HELP}; or --model MODULE:CLASS for a model",
    )


def load_model(spec: str) -> type[pydantic.BaseModel]:
    """Import the class that `--model MODULE:CLASS` names.

    MODULE is a dotted module name, found from the current folder as well as
    the usual import path, or the path of a `.py` file. CLASS may be dotted
    to reach a nested class.

    Raises:
        InvalidAnswerError: the module cannot be imported, has no such
            attribute, or the attribute is not a pydantic model class.
    """
    import pydantic

    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise InvalidAnswerError(
            f"invalid --model {spec!r}: expected MODULE:CLASS",
            hint="for example --model flows.approval:Approval",
        )
    module = _import_module(module_name)
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise InvalidAnswerError(
                f"invalid --model {spec!r}: {module_name} has no attribute "
                f"{attribute!r}",
                hint="check the class name; it is case-sensitive",
            ) from None
    if not (inspect.isclass(target) and issubclass(target, pydantic.BaseModel)):
        raise InvalidAnswerError(
            f"invalid --model {spec!r}: {attribute} is not a pydantic model class "
            f"but a {type(target).__name__}",
            hint="name a RunInput subclass or a pydantic BaseModel subclass",
        )
    return target


def _import_module(module_name: str) -> Any:
    path = Path(module_name)
    if path.suffix == ".py":
        return _import_file(path)
    # Like `python -m`, look in the current folder first, so that a module
    # next to the user's flows imports without setting PYTHONPATH.
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise InvalidAnswerError(
            f"cannot import module {module_name!r} for --model: {exc}",
            hint="run the command from the folder that contains the module, set "
            "PYTHONPATH, or pass the path of the .py file",
        ) from None
    except Exception as exc:
        raise _import_failed_error(module_name, exc) from exc


def _import_file(path: Path) -> Any:
    if not path.is_file():
        raise InvalidAnswerError(
            f"cannot import {str(path)!r} for --model: no such file",
            hint="pass the path of a .py file, or a dotted module name",
        )
    resolved = path.resolve()
    # The file's folder goes on the import path, so its own imports of
    # neighbouring modules work as they do when the file runs as a script.
    if str(resolved.parent) not in sys.path:
        sys.path.insert(0, str(resolved.parent))
    module_name = f"runinput_model_{uuid.uuid5(uuid.NAMESPACE_URL, str(resolved)).hex}"
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise _import_failed_error(str(path), exc) from exc
    return module


def _import_failed_error(name: str, exc: Exception) -> InvalidAnswerError:
    return InvalidAnswerError(
        f"importing {name!r} for --model failed: {type(exc).__name__}: {exc}",
        hint="import it in Python to see the full traceback",
    )


def _invalid_value_error(
    exc: pydantic.ValidationError, label: str
) -> InvalidAnswerError:
    from runinput.schema import format_path

    lines = []
    for error in exc.errors(include_url=False):
        where = format_path(list(error["loc"])) or "value"
        lines.append(f"  {where}: {error['msg']}")
    count = exc.error_count()
    noun = "error" if count == 1 else "errors"
    return InvalidAnswerError(
        f"invalid value for {label} ({count} {noun}):\n" + "\n".join(lines),
        hint="fix the value and send it again; nothing was sent",
    )
