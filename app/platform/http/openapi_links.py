"""OpenAPI links: from what an answer returns to the operations it names, so a client (and
schemathesis' stateful run) can follow an order from placing to pickup without being told."""

from __future__ import annotations

import re
from typing import Any

Document = dict[str, Any]


def add_links(document: Document) -> None:
    """Links from each success answer to the operations it names:
    - a POST to a collection links to everything under the item it created
      (`POST /v1/orders` -> `/v1/orders/{order_ref}/...`, from the answer's `id`, or the field
      named like the parameter: `POST /v1/skus` -> `/v1/skus/{sku}`);
    - an operation on an item links to the other operations on the same item
      (`.../ready` -> `.../pickup`);
    - any answer with a field named like the one path parameter of another operation links to
      it (an order's `customer_id` -> `/v1/customers/{customer_id}`)."""
    operations = [
        (method, path, op)
        for path, item in document.get("paths", {}).items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    ]
    schemas = document.get("components", {}).get("schemas", {})
    for method, path, op in operations:
        for status, response in op.get("responses", {}).items():
            if not status.startswith("2") or "content" not in response:
                continue
            fields_ = _top_level_fields(response, schemas)
            links: Document = {}
            for _, target_path, target in operations:
                if target is op or target.get("security") == []:
                    continue  # a signed webhook is not followed from an answer
                parameters = _link_parameters(method, path, fields_, target_path)
                if parameters:
                    links[target["operationId"]] = {
                        "operationId": target["operationId"],
                        "parameters": parameters,
                    }
            if links:
                response["links"] = links


def _path_parameters(path: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", path)


def _link_parameters(
    method: str, path: str, fields_: set[str], target_path: str
) -> dict[str, str] | None:
    wanted = _path_parameters(target_path)
    if not wanted:
        return None
    own = _path_parameters(path)
    if own and own == wanted and target_path.startswith(path.split("}", maxsplit=1)[0] + "}"):
        return {name: f"$request.path.{name}" for name in wanted}
    if method == "post" and not own and target_path.startswith(path.rstrip("/") + "/{"):
        name = wanted[0]
        if len(wanted) == 1 and name in fields_:
            return {name: f"$response.body#/{name}"}
        if len(wanted) == 1 and name.endswith(("_id", "_ref")) and "id" in fields_:
            return {name: "$response.body#/id"}
        return None
    if len(wanted) == 1 and wanted[0] in fields_ and target_path.count("{") == 1:
        return {wanted[0]: f"$response.body#/{wanted[0]}"}
    return None


def _top_level_fields(response: Document, schemas: Document) -> set[str]:
    schema = response["content"].get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = schemas.get(ref.rsplit("/", 1)[1], {})
    if schema.get("type") != "object":
        return set()
    return {
        name
        for name, property_schema in schema.get("properties", {}).items()
        if property_schema.get("type") == "string"  # one value, not a list or an object
    }
