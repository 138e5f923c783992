"""Restorers that are not DR2: classical, native networks, external commands, folders of results."""
