"""Events out: the numbered event log every change writes, and what reads it (catch-up,
outgoing webhooks, the live stream)."""
