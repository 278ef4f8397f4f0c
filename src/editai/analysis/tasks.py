"""Background work of the analysis domain (registered with @task)."""
