"""Edge agents: turn raw store-hardware signals into device-protocol events."""
