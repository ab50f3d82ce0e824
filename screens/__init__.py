"""The sqlbench workbench: a Textual UI over the engine's run directories."""
