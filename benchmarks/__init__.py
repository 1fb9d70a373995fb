"""Side-by-side benchmarks of GLAI against the MLPs it replaces, and their data."""
