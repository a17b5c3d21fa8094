"""On-chain daily BTC/USD price (UTXOracle v9.1), its DuckDB series, API and admin."""
