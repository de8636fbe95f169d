"""
The exceptions that runinput raises.

    RunInputError
    ├── ConnectionFailedError      the server could not be reached or timed out
    ├── ServerError                the server responded with an unexpected status
    │   ├── UnauthorizedError      401 or 403: missing or wrong credentials
    │   ├── NotFoundError          404: no such flow run or key
    │   └── ConflictError          409: the key already exists
    ├── ProtocolError              stored data does not follow the input protocol
    │   └── InvalidSchemaError     a stored JSON schema cannot be used
    ├── ResumeRejectedError        the server did not accept a resume
    ├── NoFlowRunError             no flow run id was given and none is current
    ├── NotRespondableError        the input was not sent by a flow run
    └── InputTimeoutError          no input arrived in time (also a TimeoutError)
"""

from __future__ import annotations

import httpx


class RunInputError(Exception):
    """Base class of every error that runinput raises."""


class ConnectionFailedError(RunInputError):
    """The API could not be reached, or a request timed out."""

    def __init__(self, message: str, *, api_url: str) -> None:
        super().__init__(message)
        self.api_url = api_url


class ServerError(RunInputError):
    """The server responded with a status that the request did not expect."""

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(message)
        self.response = response

    @property
    def status_code(self) -> int:
        return self.response.status_code


class UnauthorizedError(ServerError):
    """The server rejected the credentials, or none were sent."""


class NotFoundError(ServerError):
    """The flow run or the input key does not exist."""


class ConflictError(ServerError):
    """An input with this key already exists on the flow run."""


class ProtocolError(RunInputError):
    """Data stored on the server does not follow the input protocol."""


class InvalidSchemaError(ProtocolError):
    """A stored JSON schema is not valid or cannot be resolved."""


class ResumeRejectedError(RunInputError):
    """The server did not accept a resume; `status` and `reason` give its verdict."""

    def __init__(self, message: str, *, status: str, reason: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class NoFlowRunError(RunInputError):
    """No flow run id was given, and no current flow run could be found."""


class NotRespondableError(RunInputError, RuntimeError):
    """`respond()` was called on an input whose sender is not a flow run."""


class InputTimeoutError(RunInputError, TimeoutError):
    """No matching input arrived before the handler's timeout."""
