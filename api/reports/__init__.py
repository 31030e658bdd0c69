"""The province's monthly report: aggregates only, small counts suppressed."""
