"""The Textual app of Casparian Flow; reaches the engine only through Workspace and events."""
