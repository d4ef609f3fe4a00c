"""CSV files ops bring (orders, numbering plan)."""
