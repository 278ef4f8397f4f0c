"""Background work of the tts domain (registered with @task)."""
