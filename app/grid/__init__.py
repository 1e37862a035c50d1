"""Grid governance: grids, their leaders, and grid events through their lifecycle."""
