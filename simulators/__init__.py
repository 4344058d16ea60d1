"""Virtual stores that speak device protocol v1 over MQTT, deterministic from a seed, and know
their ground truth (footfall, visits, members, try-ons, sales) for demos, tests and accuracy
checks. Start with `simulators.run.run_simulation`."""
