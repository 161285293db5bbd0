"""beexbench: benchmark binarized, early-exit transformers on your hardware.

The subpackages are the layers data flows through, lowest first: `core`, `config`,
`models` and `data`, `runtimes` and `targets`, `measure`, `train` and `results`, `bench`,
`sweep`, `report` and `regress`, `cli`. A module imports only from its own layer's
package and the layers below, and packages that share a layer never import each other
(pyproject.toml's import-linter contract; `nox -s imports`). Importing this package
loads none of them (and no torch).
"""
