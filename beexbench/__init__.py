"""beexbench: benchmark binarized, early-exit transformers on your hardware.

The subpackages are the layers data flows through, lowest first: `core`, `config`,
`data`, `models`, `runtimes`, `targets`, `measure`, `train`, `results`, `bench`, `sweep`,
`report`, `regress`, `cli`. Importing this package loads none of them (and no torch).
"""
