"""Alert delivery: one dispatcher fanning out to channels (MQTT, webhooks, …)."""
