"""Stripe: the only code that talks to the payment provider."""
