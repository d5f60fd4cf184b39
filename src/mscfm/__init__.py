"""mscfm: the logic behind the evidence report on MSC therapy for fibromyalgia.

Notebooks stay thin and call into this package; see ARCHITECTURE.md for the module map.
"""

__version__ = "0.1.0"
