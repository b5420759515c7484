"""App: the engine, the workspace and the conversation that the CLI and the UI drive."""
