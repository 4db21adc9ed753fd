"""SQL, always with bound parameters; functions are named for what they return."""
