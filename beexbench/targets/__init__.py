"""Hardware target adapters (cpu, cuda, arm), their registry and detection."""
