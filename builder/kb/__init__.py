"""kb — the Product Builder handbook, as markdown in git.

The pipeline is load → validate → link → history → emit → render; `kb.pipeline` alone knows
the order. Stages 1–3 import only the standard library and PyYAML, so `kb lint` starts fast.
"""

__version__ = "0.1.0"
