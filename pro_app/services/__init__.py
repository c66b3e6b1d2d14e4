"""Domain operations shared by the web views, the CLI and the demo seed."""
