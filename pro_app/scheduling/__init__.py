"""Follow-up scheduling: planning instances, and the tick that sends and expires them."""
