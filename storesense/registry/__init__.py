"""Registry records shared by ingest and the API (members, for now)."""
