from tts import mkl_reproducibility  # noqa: F401  (before any MKL call: see its docstring)
