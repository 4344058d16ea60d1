"""Authentication and per-store permissions for the API: users with argon2 passwords,
short-lived access tokens with rotating refresh tokens, API tokens for integrations,
roles bound to stores, login rate limiting and the member-profile audit log.

Everything is stored in the state backend (memory or Redis), so any number of API
processes share users, sessions and the audit log."""
