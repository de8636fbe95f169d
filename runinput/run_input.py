"""
Typed inputs for flow runs: RunInput, AutomaticRunInput, and sending them.

The names, signatures and stored data match `prefect.input` (Prefect 3.9), so
code switches between the two by changing one import, and messages sent by
one are received by the other. How the sync-named methods behave inside async
code is described in `runinput._dispatch`.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast
from uuid import UUID

import pydantic
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema
from typing_extensions import Self

from ._dispatch import Done, in_async_context
from .client import AsyncClient, shared_client
from .context import current_sender, ensure_flow_run_id, flow_run_id_from_sender
from .errors import NotRespondableError
from .keys import Keyset, default_key_prefix, keyset_from_base_key, new_key
from .models import FlowRunInput

if TYPE_CHECKING:
    from .receive import GetAutomaticInputHandler, GetInputHandler

logger = logging.getLogger(__name__)

R = TypeVar("R", bound="RunInput")
T = TypeVar("T")

# Names that a RunInput field may not take, because the field would hide the
# method or property of the same name that the protocol relies on.
RESERVED_FIELD_NAMES = frozenset(
    {
        "aload",
        "arespond",
        "asave",
        "asend_to",
        "keyset_from_type",
        "load",
        "load_from_flow_run_input",
        "metadata",
        "receive",
        "respond",
        "save",
        "send_to",
        "subclass_from_base_model_type",
        "subclass_from_type",
        "with_initial_data",
    }
)


class RunInputMetadata(pydantic.BaseModel):
    """Where a received input came from: its key, sender and receiving flow run."""

    key: str
    sender: str | None = None
    receiver: UUID


class _EmptySchemaForArbitraryTypes(GenerateJsonSchema):
    # Fields of arbitrary user classes get an empty schema instead of an error,
    # as in the schemas Prefect stores.
    def is_instance_schema(
        self, schema: core_schema.IsInstanceSchema
    ) -> JsonSchemaValue:
        return {}


class BaseRunInput(pydantic.BaseModel):
    """The part shared by RunInput and AutomaticRunInput."""

    model_config: ClassVar[pydantic.ConfigDict] = pydantic.ConfigDict(extra="forbid")

    _description: ClassVar[str | None] = None
    _metadata: RunInputMetadata | None = pydantic.PrivateAttr(default=None)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        annotations = cls.__dict__.get("__annotations__", {})
        clashes = sorted(RESERVED_FIELD_NAMES.intersection(annotations))
        if clashes:
            name = clashes[0]
            raise TypeError(
                f"field {name!r} of {cls.__name__} would hide RunInput.{name}; "
                f"rename the field, and give it alias={name!r} if the stored "
                "data must keep that name"
            )

    @property
    def metadata(self) -> RunInputMetadata:
        """The key, sender and receiver of a received or loaded input."""
        if self._metadata is None:
            raise AttributeError(
                f"this {type(self).__name__} was not received or loaded, so it "
                "has no metadata"
            )
        return self._metadata

    @classmethod
    def keyset_from_type(cls) -> Keyset:
        """Build a keyset named after the class: `{name}-schema`, `-description`, …"""
        return keyset_from_base_key(cls.__name__.lower())

    @classmethod
    def save(cls, keyset: Keyset, flow_run_id: UUID | None = None) -> Done[None]:
        """Store the class's JSON schema and description under `keyset`."""
        run_id = ensure_flow_run_id(flow_run_id)
        client = shared_client()
        for key, value in _schema_entries(cls, keyset):
            client.create_flow_run_input(run_id, key, value)
        return Done(None)

    @classmethod
    async def asave(cls, keyset: Keyset, flow_run_id: UUID | None = None) -> None:
        """Store the class's JSON schema and description under `keyset`."""
        run_id = ensure_flow_run_id(flow_run_id)
        async with _async_client() as client:
            for key, value in _schema_entries(cls, keyset):
                await client.create_flow_run_input(run_id, key, value)

    @classmethod
    def load(cls, keyset: Keyset, flow_run_id: UUID | None = None) -> Self:
        """Read the answer stored under the keyset's `response` key."""
        if in_async_context():
            return cast(Self, cls.aload(keyset, flow_run_id))
        run_id = ensure_flow_run_id(flow_run_id)
        text = shared_client().read_flow_run_input(run_id, keyset["response"])
        return cls._from_response(keyset, run_id, text)

    @classmethod
    async def aload(cls, keyset: Keyset, flow_run_id: UUID | None = None) -> Self:
        """Read the answer stored under the keyset's `response` key."""
        run_id = ensure_flow_run_id(flow_run_id)
        async with _async_client() as client:
            text = await client.read_flow_run_input(run_id, keyset["response"])
        return cls._from_response(keyset, run_id, text)

    @classmethod
    def _from_response(cls, keyset: Keyset, run_id: UUID, text: str | None) -> Self:
        value = json.loads(text) if text else None
        instance = cls(**value) if value else cls()
        instance._metadata = RunInputMetadata(
            key=keyset["response"], sender=None, receiver=run_id
        )
        return instance

    @classmethod
    def load_from_flow_run_input(cls, flow_run_input: FlowRunInput) -> Self:
        """Build an instance from a stored input, keeping its key and sender."""
        instance = cls(**flow_run_input.decoded_value)
        instance._metadata = RunInputMetadata(
            key=flow_run_input.key,
            sender=flow_run_input.sender,
            receiver=flow_run_input.flow_run_id,
        )
        return instance

    @classmethod
    def with_initial_data(
        cls, description: str | None = None, **kwargs: Any
    ) -> type[Self]:
        """Make a subclass whose fields default to the given values.

        Each field keeps its type, description and constraints; only the
        default changes. A keyword that names no field adds a field typed by
        its value. `description` is Markdown shown to the person answering.
        """
        fields: dict[str, Any] = {}
        for name, value in kwargs.items():
            original = cls.model_fields.get(name)
            if original is None:
                fields[name] = (type(value), value)
            else:
                # A default factory would clash with the new default.
                info = FieldInfo.merge_field_infos(
                    original, default=value, default_factory=None
                )
                fields[name] = (original.annotation, info)
        model = pydantic.create_model(cls.__name__, __base__=cls, **fields)
        if description is not None:
            model._description = description
        return model

    def respond(
        self,
        run_input: RunInput | pydantic.BaseModel | Any,
        sender: str | None = None,
        key_prefix: str | None = None,
    ) -> Done[None]:
        """Send `run_input` to the flow run that sent this input."""
        _send(self._reply_to(), run_input, sender, key_prefix)
        return Done(None)

    async def arespond(
        self,
        run_input: RunInput | pydantic.BaseModel | Any,
        sender: str | None = None,
        key_prefix: str | None = None,
    ) -> None:
        """Send `run_input` to the flow run that sent this input."""
        await _asend(self._reply_to(), run_input, sender, key_prefix)

    def send_to(
        self,
        flow_run_id: UUID | str,
        sender: str | None = None,
        key_prefix: str | None = None,
    ) -> Done[None]:
        """Send this input to a flow run."""
        _send(flow_run_id, self, sender, key_prefix)
        return Done(None)

    async def asend_to(
        self,
        flow_run_id: UUID | str,
        sender: str | None = None,
        key_prefix: str | None = None,
    ) -> None:
        """Send this input to a flow run."""
        await _asend(flow_run_id, self, sender, key_prefix)

    def _reply_to(self) -> UUID:
        sender = self._metadata.sender if self._metadata else None
        flow_run_id = flow_run_id_from_sender(sender)
        if flow_run_id is None:
            raise NotRespondableError(
                f"cannot respond to this {type(self).__name__}: its sender "
                f"{sender!r} is not a flow run (a reply needs a sender of the "
                "form 'prefect.flow-run.<id>')"
            )
        return flow_run_id


class RunInput(BaseRunInput):
    """A typed input that flow runs and people send to each other."""

    @classmethod
    def receive(
        cls,
        timeout: float | None = 3600,
        poll_interval: float = 10,
        raise_timeout_error: bool = False,
        exclude_keys: set[str] | None = None,
        key_prefix: str | None = None,
        flow_run_id: UUID | None = None,
    ) -> GetInputHandler[Self]:
        """Iterate over the inputs of this class sent to a flow run, oldest first."""
        from .receive import GetInputHandler

        return GetInputHandler(
            run_input_cls=cls,
            key_prefix=key_prefix or default_key_prefix(cls.__name__),
            timeout=timeout,
            poll_interval=poll_interval,
            raise_timeout_error=raise_timeout_error,
            exclude_keys=exclude_keys,
            flow_run_id=flow_run_id,
        )

    @classmethod
    def subclass_from_base_model_type(
        cls, model_cls: type[pydantic.BaseModel]
    ) -> type[RunInput]:
        """Make a RunInput with the fields of `model_cls`, named `{Model}RunInput`."""
        return _run_input_for_model(model_cls)


class AutomaticRunInput(BaseRunInput, Generic[T]):
    """A RunInput with one field, `value`, for values that are not models."""

    value: T

    @classmethod
    def load(  # type: ignore[override]
        cls, keyset: Keyset, flow_run_id: UUID | None = None
    ) -> T:
        """Read the answer stored under the keyset's `response` key."""
        if in_async_context():
            return cast(T, cls.aload(keyset, flow_run_id))
        return super().load(keyset, flow_run_id).value

    @classmethod
    async def aload(  # type: ignore[override]
        cls, keyset: Keyset, flow_run_id: UUID | None = None
    ) -> T:
        """Read the answer stored under the keyset's `response` key."""
        instance = await super().aload(keyset, flow_run_id)
        return instance.value

    @classmethod
    def subclass_from_type(cls, _type: type[T]) -> type[AutomaticRunInput[T]]:
        """Make a subclass for values of `_type`, named `{type}AutomaticRunInput`."""
        return _automatic_run_input_for_type(_type)

    @classmethod
    def receive(
        cls,
        timeout: float | None = 3600,
        poll_interval: float = 10,
        raise_timeout_error: bool = False,
        exclude_keys: set[str] | None = None,
        key_prefix: str | None = None,
        flow_run_id: UUID | None = None,
        with_metadata: bool = False,
    ) -> GetAutomaticInputHandler[T]:
        """Iterate over the values of this type sent to a flow run, oldest first."""
        from .receive import GetAutomaticInputHandler

        return GetAutomaticInputHandler(
            run_input_cls=cls,
            key_prefix=key_prefix or default_key_prefix(cls.__name__),
            timeout=timeout,
            poll_interval=poll_interval,
            raise_timeout_error=raise_timeout_error,
            exclude_keys=exclude_keys,
            flow_run_id=flow_run_id,
            with_metadata=with_metadata,
        )


def run_input_subclass_from_type(
    _type: Any,
) -> type[RunInput] | type[AutomaticRunInput[Any]]:
    """Find or make the RunInput class that carries values of `_type`.

    A RunInput subclass is returned as it is, a pydantic model becomes
    `{Model}RunInput`, and any other type becomes `{type}AutomaticRunInput`.
    """
    if inspect.isclass(_type):
        if issubclass(_type, RunInput):
            return _type
        if issubclass(_type, pydantic.BaseModel):
            return _run_input_for_model(_type)
    return _automatic_run_input_for_type(_type)


def send_input(
    run_input: Any,
    flow_run_id: UUID | str,
    sender: str | None = None,
    key_prefix: str | None = None,
) -> Done[None]:
    """Send a RunInput, a pydantic model or a plain value to a flow run."""
    _send(flow_run_id, run_input, sender, key_prefix)
    return Done(None)


async def asend_input(
    run_input: Any,
    flow_run_id: UUID | str,
    sender: str | None = None,
    key_prefix: str | None = None,
) -> None:
    """Send a RunInput, a pydantic model or a plain value to a flow run."""
    await _asend(flow_run_id, run_input, sender, key_prefix)


def receive_input(
    input_type: Any,
    timeout: float | None = 3600,
    poll_interval: float = 10,
    raise_timeout_error: bool = False,
    exclude_keys: set[str] | None = None,
    key_prefix: str | None = None,
    flow_run_id: UUID | None = None,
    with_metadata: bool = False,
) -> Any:
    """Iterate over inputs of `input_type` sent to a flow run, oldest first.

    Returns a `GetInputHandler` for RunInput classes and pydantic models,
    whose items are instances; for other types a `GetAutomaticInputHandler`,
    whose items are the plain values (or the wrapping AutomaticRunInput when
    `with_metadata` is true).
    """
    input_cls = run_input_subclass_from_type(input_type)
    if issubclass(input_cls, AutomaticRunInput):
        return input_cls.receive(
            timeout=timeout,
            poll_interval=poll_interval,
            raise_timeout_error=raise_timeout_error,
            exclude_keys=exclude_keys,
            key_prefix=key_prefix,
            flow_run_id=flow_run_id,
            with_metadata=with_metadata,
        )
    return input_cls.receive(
        timeout=timeout,
        poll_interval=poll_interval,
        raise_timeout_error=raise_timeout_error,
        exclude_keys=exclude_keys,
        key_prefix=key_prefix,
        flow_run_id=flow_run_id,
    )


def schema_for(cls: type[pydantic.BaseModel]) -> dict[str, Any]:
    """Build the JSON schema that a pause stores for `cls`, as Prefect does.

    References use `#/definitions/{model}`, and nested models appear under
    both `$defs` and `definitions`.
    """
    schema = cls.model_json_schema(
        by_alias=True,
        ref_template="#/definitions/{model}",
        schema_generator=_EmptySchemaForArbitraryTypes,
    )
    if "$defs" in schema:
        schema["definitions"] = schema["$defs"]
    return schema


def dump_json(value: Any) -> str:
    """Compact JSON text, as Prefect stores it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def to_run_input(value: Any) -> BaseRunInput:
    """Wrap a pydantic model or a plain value in the RunInput that carries it."""
    if isinstance(value, BaseRunInput):
        return value
    if isinstance(value, pydantic.BaseModel):
        model_input = _run_input_for_model(type(value))
        return model_input.model_validate(value.model_dump(by_alias=True))
    automatic = _automatic_run_input_for_type(type(value))
    return automatic(value=value)


def message_for(
    run_input: Any, sender: str | None, key_prefix: str | None
) -> tuple[str, str, str | None]:
    """Build the key, JSON text and sender under which `run_input` is stored."""
    message = to_run_input(run_input)
    prefix = key_prefix or default_key_prefix(type(message).__name__)
    return new_key(prefix), message.model_dump_json(), sender or current_sender()


def _send(
    flow_run_id: UUID | str, run_input: Any, sender: str | None, key_prefix: str | None
) -> None:
    run_id = ensure_flow_run_id(flow_run_id)
    key, value, sender = message_for(run_input, sender, key_prefix)
    shared_client().create_flow_run_input(run_id, key, value, sender)
    logger.debug("sent %s to flow run %s", key, run_id)


async def _asend(
    flow_run_id: UUID | str, run_input: Any, sender: str | None, key_prefix: str | None
) -> None:
    run_id = ensure_flow_run_id(flow_run_id)
    key, value, sender = message_for(run_input, sender, key_prefix)
    async with _async_client() as client:
        await client.create_flow_run_input(run_id, key, value, sender)
    logger.debug("sent %s to flow run %s", key, run_id)


def _schema_entries(cls: type[BaseRunInput], keyset: Keyset) -> list[tuple[str, str]]:
    entries = [(keyset["schema"], dump_json(schema_for(cls)))]
    description = cls._description
    if isinstance(description, str) and description:
        entries.append((keyset["description"], dump_json(description)))
    return entries


def _async_client() -> AsyncClient:
    return AsyncClient()


@functools.lru_cache(maxsize=256)
def _run_input_for_model(model_cls: type[pydantic.BaseModel]) -> type[RunInput]:
    name = f"{model_cls.__name__}RunInput"
    return cast(type[RunInput], type(name, (RunInput, model_cls), {}))


def _automatic_run_input_for_type(_type: Any) -> type[AutomaticRunInput[Any]]:
    try:
        return _cached_automatic_run_input(_type)
    except TypeError:  # an unhashable type annotation cannot be cached
        return _build_automatic_run_input(_type)


@functools.lru_cache(maxsize=256)
def _cached_automatic_run_input(_type: Any) -> type[AutomaticRunInput[Any]]:
    return _build_automatic_run_input(_type)


def _build_automatic_run_input(_type: Any) -> type[AutomaticRunInput[Any]]:
    # `list[int]` and other generic aliases carry the origin's name.
    type_name = getattr(_type, "__name__", getattr(_type, "_name", "")) or ""
    return pydantic.create_model(
        f"{type_name.lower()}AutomaticRunInput",
        __base__=AutomaticRunInput,
        value=(_type, ...),
    )
