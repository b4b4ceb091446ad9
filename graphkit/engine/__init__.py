"""The engine: tensors, variables, dtypes, name scopes and reverse-mode autograd
(``gk.Tensor``, ``gk.GradientTape``)."""
