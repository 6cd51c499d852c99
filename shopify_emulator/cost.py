"""An approximation of Shopify's query cost, computed from the parsed operation.

Model (documented, not Shopify's exact numbers):

* a mutation costs `mutation_cost` (10) per root field, whatever it selects;
* in a query, a scalar or enum field costs 0, an object field (or a plain list of objects)
  costs 1 plus its selections, and a connection (a type named `...Connection`) costs
  2 plus `first` times the cost of one node (1 plus its selections under `nodes` or
  `edges { node }`, whichever is dearer); `pageInfo` and cursors are free;
* the requested cost uses `first`; the actual cost uses the number of nodes returned, so
  the difference is refunded to the bucket, as Shopify does;
* a query costs at least 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

MAX_DEPTH = 25
_UNKNOWN_FIRST = 1


class CostModel:
    """Walks one operation; the same walk gives requested cost (data=None) and actual cost."""

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        mutation_cost: int,
    ) -> None:
        self._schema = schema
        self._operation = operation
        self._fragments = fragments
        self._variables = variables
        self._mutation_cost = mutation_cost

    @property
    def is_mutation(self) -> bool:
        return self._operation.operation == OperationType.MUTATION

    def root_fields(self) -> list[str]:
        return [node.name.value for node in self._fields(self._operation.selection_set, 0)]

    def requested(self) -> int:
        if self.is_mutation:
            return self._mutation_cost * len(self.root_fields())
        root = self._schema.query_type
        if root is None:
            return 1
        return max(1, self._selection_cost(root, self._operation.selection_set, None, 0))

    def actual(self, data: Mapping[str, Any] | None) -> int:
        if self.is_mutation:
            return self.requested()
        root = self._schema.query_type
        if root is None or data is None:
            return 1
        return max(1, self._selection_cost(root, self._operation.selection_set, data, 0))

    # ---- walking -----------------------------------------------------------------------
    def _fields(self, selection_set: SelectionSetNode | None, depth: int) -> list[FieldNode]:
        """Flatten fragments; validation has already rejected fragment cycles."""
        if selection_set is None or depth > MAX_DEPTH:
            return []
        found: list[FieldNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found += self._fields(selection.selection_set, depth + 1)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments.get(selection.name.value)
                if fragment is not None:
                    found += self._fields(fragment.selection_set, depth + 1)
        return found

    def _selection_cost(
        self,
        parent: GraphQLObjectType,
        selection_set: SelectionSetNode | None,
        data: Mapping[str, Any] | None,
        depth: int,
    ) -> int:
        if depth > MAX_DEPTH:
            return 0
        total = 0
        for node in self._fields(selection_set, depth):
            name = node.name.value
            if name.startswith("__") or name not in parent.fields:
                continue
            field_type = get_named_type(parent.fields[name].type)
            if not isinstance(field_type, GraphQLObjectType):
                continue
            key = node.alias.value if node.alias else name
            value = data.get(key) if data is not None else None
            if field_type.name.endswith("Connection"):
                total += self._connection_cost(field_type, node, value, data is not None, depth)
            else:
                child = value[0] if isinstance(value, list) and value else value
                child_data = child if isinstance(child, Mapping) else None
                if data is not None and child_data is None:
                    total += 1
                    continue
                total += 1 + self._selection_cost(
                    field_type, node.selection_set, child_data, depth + 1
                )
        return total

    def _connection_cost(
        self,
        connection_type: GraphQLObjectType,
        node: FieldNode,
        value: Any,
        actual: bool,
        depth: int,
    ) -> int:
        node_type, node_selections = self._node_selections(connection_type, node, depth)
        if node_type is None:
            return 2
        if not actual:
            per_node = 1 + max(
                self._selection_cost(node_type, selection, None, depth + 2)
                for selection in node_selections
            )
            return 2 + self._first(node) * per_node
        if not isinstance(value, Mapping):
            return 2
        nodes = self._returned_nodes(connection_type, node, value, depth)
        return 2 + sum(
            1
            + max(
                self._selection_cost(node_type, selection, item, depth + 2)
                for selection in node_selections
            )
            for item in nodes
        )

    def _node_selections(
        self, connection_type: GraphQLObjectType, node: FieldNode, depth: int
    ) -> tuple[GraphQLObjectType | None, list[SelectionSetNode]]:
        node_type: GraphQLObjectType | None = None
        selections: list[SelectionSetNode] = []
        for child in self._fields(node.selection_set, depth + 1):
            if child.name.value == "nodes" and child.selection_set is not None:
                found = get_named_type(connection_type.fields["nodes"].type)
                node_type = found if isinstance(found, GraphQLObjectType) else node_type
                selections.append(child.selection_set)
            elif child.name.value == "edges":
                edge_type = get_named_type(connection_type.fields["edges"].type)
                if not isinstance(edge_type, GraphQLObjectType):
                    continue
                for grandchild in self._fields(child.selection_set, depth + 2):
                    if grandchild.name.value == "node" and grandchild.selection_set is not None:
                        found = get_named_type(edge_type.fields["node"].type)
                        node_type = found if isinstance(found, GraphQLObjectType) else node_type
                        selections.append(grandchild.selection_set)
        return node_type, selections

    def _returned_nodes(
        self,
        connection_type: GraphQLObjectType,
        node: FieldNode,
        value: Mapping[str, Any],
        depth: int,
    ) -> list[Mapping[str, Any]]:
        del connection_type
        by_nodes: list[Mapping[str, Any]] = []
        by_edges: list[Mapping[str, Any]] = []
        for child in self._fields(node.selection_set, depth + 1):
            key = child.alias.value if child.alias else child.name.value
            items = value.get(key)
            if not isinstance(items, list):
                continue
            if child.name.value == "nodes":
                by_nodes = [item for item in items if isinstance(item, Mapping)]
            elif child.name.value == "edges":
                for grandchild in self._fields(child.selection_set, depth + 2):
                    if grandchild.name.value != "node":
                        continue
                    node_key = grandchild.alias.value if grandchild.alias else "node"
                    by_edges = [
                        edge[node_key]
                        for edge in items
                        if isinstance(edge, Mapping) and isinstance(edge.get(node_key), Mapping)
                    ]
        return by_nodes or by_edges

    def _first(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return _clamp_page(int(value.value))
            if isinstance(value, VariableNode):
                raw = self._variables.get(value.name.value)
                if isinstance(raw, int) and not isinstance(raw, bool):
                    return _clamp_page(raw)
        return _UNKNOWN_FIRST


def _clamp_page(first: int) -> int:
    return max(0, min(first, 250))
