"""Prefect's flow-run input protocol over plain HTTP."""

__version__ = "0.1.0"
