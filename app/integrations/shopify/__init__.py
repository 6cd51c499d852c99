"""Shopify integration: the Admin GraphQL client and the encryption of shop credentials."""
