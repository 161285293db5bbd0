"""`beexbench bench`: train what is missing, measure every model on a target, store rows."""
