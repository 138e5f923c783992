"""Pure functions from run records to tables, statistics, figures and HTML; never imports torch."""
