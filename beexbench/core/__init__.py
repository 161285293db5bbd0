"""What every layer may use: errors, registries, typed readers, atomic writes, locks, logging."""
