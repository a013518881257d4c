"""Platform administration: statistics, bulk account and credit operations, restores, export."""
