"""Shopify integration: Admin API client pieces and a local emulator for tests."""
