"""The supervisor board: a snapshot of the plant (work orders with their predicted finish,
a tile per workstation, holds and nonconformances waiting) and its live change feed."""
