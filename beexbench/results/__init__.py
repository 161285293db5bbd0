"""The results store: tidy long CSV rows, run directories, atomic writes."""
