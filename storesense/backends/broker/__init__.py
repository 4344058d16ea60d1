"""MQTT broker: embedded (amqtt, in-process) for one box; external brokers need no code."""
