"""Every error on the HTTP side becomes an OpenAI-style error body."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.errors import (
    FleetError,
    InvalidRequestError,
    ServerError,
    to_openai_error,
)

logger = logging.getLogger(__name__)


def error_response(error: FleetError) -> JSONResponse:
    headers = {}
    if error.http_status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Bearer realm="llm-fleet"'
    if error.retry_after_header is not None:
        headers["Retry-After"] = error.retry_after_header
    return JSONResponse(to_openai_error(error), status_code=int(error.http_status), headers=headers)


async def _fleet_error(_: Request, error: FleetError) -> JSONResponse:
    return error_response(error)


async def _validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
    return error_response(InvalidRequestError(str(error)))


async def _http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
    response = error_response(InvalidRequestError(str(error.detail)))
    response.status_code = error.status_code
    return response


async def _unexpected_error(_: Request, error: Exception) -> JSONResponse:
    logger.exception("unexpected error on the request path")
    return error_response(ServerError(f"internal error: {type(error).__name__}"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FleetError, _fleet_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
