"""Alert rules (pure functions of event, state and parameters) and the alert lifecycle."""
