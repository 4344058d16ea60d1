"""Device protocol v1 (ARCHITECTURE.md section 2): topics, event models, decoding, alerts."""
