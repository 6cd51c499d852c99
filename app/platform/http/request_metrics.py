"""Prometheus request metrics."""

from __future__ import annotations

import time
from typing import Any

from litestar.plugins.prometheus import PrometheusMiddleware
from litestar.types import Message, Receive, Scope, Send

SERVER_ERROR = 500


class RequestMetricsMiddleware(PrometheusMiddleware):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_progress: dict[tuple[str, str], Any] = {}
        self._finished: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        config = self._config
        if config.labels or config.exemplars or config.excluded_http_methods:
            await super().__call__(scope, receive, send)
            return
        method = str(scope.get("method") or scope["type"])
        path = scope["path_template"] if config.group_path else scope["path"]
        in_progress = self._in_progress.get((method, path))
        if in_progress is None:
            labels = self._labels(method, path, 200)
            in_progress = self._in_progress[(method, path)] = self.requests_in_progress(
                labels
            ).labels(*labels.values())
        status = 200
        started = time.perf_counter()
        finished_at = 0.0

        async def send_and_observe(message: Message) -> None:
            nonlocal status, finished_at
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                finished_at = time.perf_counter()
            await send(message)

        in_progress.inc()
        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            in_progress.dec()
            count, duration = self._children(method, path, status)
            count.inc()
            duration.observe((finished_at or time.perf_counter()) - started)
            if status >= SERVER_ERROR:
                labels = self._labels(method, path, status)
                self.requests_error_count(labels).labels(*labels.values()).inc()

    def _labels(self, method: str, path: str, status: int) -> dict[str, str | int | float]:
        return {
            "method": method,
            "path": path,
            "status_code": status,
            "app_name": self._config.app_name,
        }

    def _children(self, method: str, path: str, status: int) -> tuple[Any, Any]:
        """The request counter's and duration histogram's children for these labels."""
        key = (method, path, status)
        children = self._finished.get(key)
        if children is None:
            labels = self._labels(method, path, status)
            values = list(labels.values())
            children = self._finished[key] = (
                self.request_count(labels).labels(*values),
                self.request_time(labels).labels(*values),
            )
        return children
