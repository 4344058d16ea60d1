"""What every agent shares: durable outbox, MQTT publisher, status, live config."""
