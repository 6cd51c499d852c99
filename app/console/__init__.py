"""The staff console at `/console`: server-rendered pages (Jinja, with htmx served by the app)
for the pickup desk, stock lookup, receiving and counting. Every action calls the same use
cases as the API, as the signed-in person. Not part of the API: outside `/v1`, the OpenAPI
schema and the API-key middleware; a console session and a CSRF token guard it instead."""
