"""The UTXOracle v9.1 price engine: block parser, algorithm, block sources and the engine that
joins them. Plain Python and NumPy, no Django."""
