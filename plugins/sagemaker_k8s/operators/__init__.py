"""Operators; imported at DAG parse time, so their modules import little at module level."""
