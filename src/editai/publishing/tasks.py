"""Background work of the publishing domain (registered with @task)."""
