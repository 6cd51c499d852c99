"""The inputs of the OpenAPI document as the API checks them: request bodies that refuse unknown
fields, their examples, query parameters as they go on the wire, the headers a write or a
webhook reads. Used by app/platform/http/openapi.py."""

from __future__ import annotations

import msgspec
from litestar.handlers import HTTPRouteHandler

from app.platform.http.idempotency import KEY_PATTERN, MAX_KEY_LENGTH
from app.platform.http.openapi_links import Document


def request_type(handler: HTTPRouteHandler) -> type[msgspec.Struct] | None:
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    annotation = data.annotation
    return (
        annotation
        if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)
        else None
    )


def idempotency_key(required: bool) -> Document:
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": required,
        "description": (
            "Makes the write safe to retry: the same key and body answer the first response "
            "again; the same key with another body is 409 idempotency_conflict. Kept 24 h."
        ),
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_KEY_LENGTH,
            "pattern": f"^{KEY_PATTERN.pattern}$",
        },
    }


def signature_headers(path: str) -> list[Document]:
    name = "Stripe-Signature" if "stripe" in path else "X-Shopify-Hmac-Sha256"
    return [
        {
            "name": name,
            "in": "header",
            "required": False,  # Stripe's endpoint answers 404 before reading it when unset
            "description": "The provider's signature of the raw body; none or a wrong one is 401",
            "schema": {"type": "string", "maxLength": 1000},
        }
    ]


def as_on_the_wire(handler: HTTPRouteHandler, parameter: Document) -> Document:
    """A query parameter is absent or a value, never `null`; a list's items keep the
    constraints msgspec checks them with (Litestar drops them)."""
    schema = parameter.get("schema", {})
    variants = schema.get("oneOf")
    if variants and any(v.get("type") == "null" for v in variants):
        kept = [v for v in variants if v.get("type") != "null"]
        if len(kept) == 1:
            schema = {**{k: v for k, v in schema.items() if k != "oneOf"}, **kept[0]}
    if schema.get("type") == "array":
        items = _item_constraints(handler, parameter["name"])
        schema = {**schema, "items": {**schema.get("items", {}), **items}}
    return {**parameter, "schema": schema}


def _item_constraints(handler: HTTPRouteHandler, name: str) -> Document:
    for parameter_name, parameter in handler.parsed_fn_signature.parameters.items():
        if parameter_name != name and getattr(parameter.kwarg_definition, "query", None) != name:
            continue
        try:
            info = msgspec.inspect.type_info(parameter.annotation)
        except (TypeError, ValueError):
            return {}
        item = getattr(info, "item_type", None)
        if isinstance(item, msgspec.inspect.Metadata):
            item = item.type
        if isinstance(item, msgspec.inspect.StrType):
            found = {"pattern": item.pattern, "minLength": item.min_length}
            found["maxLength"] = item.max_length
            return {k: v for k, v in found.items() if v is not None}
    return {}


def complete_request_schemas(schemas: Document, bodies: list[type[msgspec.Struct]]) -> None:
    """`additionalProperties: false` on each Struct of a request that refuses unknown fields, and
    what a Struct's `schema_rules` add (rules across its fields)."""
    seen: set[type] = set()

    def visit(info: msgspec.inspect.Type) -> None:
        if isinstance(info, msgspec.inspect.StructType):
            if info.cls in seen:
                return
            seen.add(info.cls)
            for component in schemas.values():
                if component.get("title") == info.cls.__name__:
                    if info.forbid_unknown_fields:
                        component["additionalProperties"] = False
                    component.update(getattr(info.cls, "schema_rules", {}))
            for struct_field in info.fields:
                visit(struct_field.type)
        for child in ("item_type", "key_type", "value_type", "type"):
            nested = getattr(info, child, None)
            if isinstance(nested, msgspec.inspect.Type):
                visit(nested)
        for nested in getattr(info, "types", ()) or ():
            visit(nested)

    for body in bodies:
        visit(msgspec.inspect.type_info(body))


REQUEST_EXAMPLES: dict[str, Document] = {
    # request Structs that do not live in a context's schemas.py
    "ApiKeyIn": {"name": "Oxford Street till 2", "role": "pos", "location": "LDN-OXF"},
}


def request_example(handler: HTTPRouteHandler) -> Document | None:
    """The example of a handler's body: its Struct's `example` (app/*/schemas.py)."""
    body = request_type(handler)
    if body is None:
        return None
    example: Document | None = getattr(body, "example", None) or REQUEST_EXAMPLES.get(body.__name__)
    return example


BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def as_json_schema(node: object) -> None:
    r"""What the document's readers expect: patterns here end with Python's `\Z`
    (app/platform/http/schemas.py says why), ECMA-262's `$`; an integer's bounds are integers
    (Litestar writes 1000.0)."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for bound in BOUNDS:
                if isinstance(node.get(bound), float) and node[bound].is_integer():
                    node[bound] = int(node[bound])
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str) and value.endswith(r"\Z"):
                node[key] = value[:-2] + "$"
            else:
                as_json_schema(value)
    elif isinstance(node, list):
        for item in node:
            as_json_schema(item)
