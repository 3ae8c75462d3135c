"""cpu-ref: GGUF models run by a numpy forward pass (nothing compiled), the reference engine.

Modules: :mod:`.config` (hyperparameters from metadata), :mod:`.weights` (dequantized tensors),
:mod:`.model` (the forward pass), :mod:`.threads` (BLAS threading), :mod:`.runner` (the Runner),
:mod:`.backend` (probe and load).
"""
