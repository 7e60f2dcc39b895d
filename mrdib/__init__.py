"""mrdib: the MRdIB training objective as a plug-in for multimodal recommenders.

Nothing here does work on import, so tests and notebooks can import any module cheaply.
"""

__version__ = "0.1.0"
