"""The alert lifecycle: raised → claimed → resolved, escalation, expiry, policy, outcomes."""
