"""Qt-free domain layer: store, registry, datasets, runner, metrics, deploy, audit."""
