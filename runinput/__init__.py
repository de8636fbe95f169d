"""Prefect's flow-run input protocol over plain HTTP.

The public names match `prefect.input`, so code switches by changing one
import: `from runinput import RunInput` instead of `from prefect.input import
RunInput`.
"""

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
