"""Small geometric building blocks: rotations, the scaled-orthographic camera, similarity
alignment and closest points on a mesh, box-constrained quadratic programs."""
