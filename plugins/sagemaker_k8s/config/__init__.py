"""A run's configuration: the param schema (``params``, read at DAG parse time) and resolving a run's
values into a checked ``RunConfig`` (``run_config``, at run time; it builds on ``params``, never the
reverse)."""
