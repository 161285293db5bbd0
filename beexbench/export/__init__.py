"""`beexbench export`: run and sweep directories in the formats other tools read."""
