"""Prefect's flow-run input protocol over plain HTTP.

The public names match `prefect.input`, so code switches by changing one
import: `from runinput import RunInput` instead of `from prefect.input import
RunInput`.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import AsyncClient, Client
    from .context import current_flow_run_id, flow_run_context
    from .errors import (
        ConflictError,
        ConnectionFailedError,
        InputTimeoutError,
        InvalidSchemaError,
        NoFlowRunError,
        NotFoundError,
        NotRespondableError,
        ProtocolError,
        ResumeRejectedError,
        RunInputError,
        ServerError,
        UnauthorizedError,
    )
    from .keys import Keyset, keyset_from_base_key, keyset_from_paused_state
    from .models import FlowRunInput
    from .receive import GetAutomaticInputHandler, GetInputHandler
    from .run_input import (
        AutomaticRunInput,
        RunInput,
        RunInputMetadata,
        asend_input,
        receive_input,
        run_input_subclass_from_type,
        send_input,
    )
    from .settings import Settings

__version__ = "0.1.0"

# The module that defines each public name. Modules are imported on first
# use, so that a command which needs only the client does not pay for
# importing the RunInput classes and the input handlers.
_EXPORTS = {
    "AsyncClient": ".client",
    "AutomaticRunInput": ".run_input",
    "Client": ".client",
    "ConflictError": ".errors",
    "ConnectionFailedError": ".errors",
    "FlowRunInput": ".models",
    "GetAutomaticInputHandler": ".receive",
    "GetInputHandler": ".receive",
    "InputTimeoutError": ".errors",
    "InvalidSchemaError": ".errors",
    "Keyset": ".keys",
    "NoFlowRunError": ".errors",
    "NotFoundError": ".errors",
    "NotRespondableError": ".errors",
    "ProtocolError": ".errors",
    "ResumeRejectedError": ".errors",
    "RunInput": ".run_input",
    "RunInputError": ".errors",
    "RunInputMetadata": ".run_input",
    "ServerError": ".errors",
    "Settings": ".settings",
    "UnauthorizedError": ".errors",
    "asend_input": ".run_input",
    "current_flow_run_id": ".context",
    "flow_run_context": ".context",
    "keyset_from_base_key": ".keys",
    "keyset_from_paused_state": ".keys",
    "receive_input": ".run_input",
    "run_input_subclass_from_type": ".run_input",
    "send_input": ".run_input",
}


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "AsyncClient",
    "AutomaticRunInput",
    "Client",
    "ConflictError",
    "ConnectionFailedError",
    "FlowRunInput",
    "GetAutomaticInputHandler",
    "GetInputHandler",
    "InputTimeoutError",
    "InvalidSchemaError",
    "Keyset",
    "NoFlowRunError",
    "NotFoundError",
    "NotRespondableError",
    "ProtocolError",
    "ResumeRejectedError",
    "RunInput",
    "RunInputError",
    "RunInputMetadata",
    "ServerError",
    "Settings",
    "UnauthorizedError",
    "asend_input",
    "current_flow_run_id",
    "flow_run_context",
    "keyset_from_base_key",
    "keyset_from_paused_state",
    "receive_input",
    "run_input_subclass_from_type",
    "send_input",
]
