"""The exceptions use cases raise; each carries its contract code, one handler maps them."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule was broken. `code` is the contract's snake_case error code."""

    code = "domain_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(DomainError):
    code = "not_found"


class AlreadyExists(DomainError):
    code = "conflict"


class InsufficientStock(DomainError):
    code = "insufficient_stock"


class InvalidTransition(DomainError):
    code = "invalid_state"


class BusinessRuleViolation(DomainError):
    """Well-formed input that a business rule refuses (HTTP 422)."""

    code = "unprocessable"


class Forbidden(DomainError):
    code = "forbidden"
