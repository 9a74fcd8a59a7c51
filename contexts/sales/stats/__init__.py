"""Stream aggregates on Faust tables: hourly sales per SKU, current stock per SKU."""
