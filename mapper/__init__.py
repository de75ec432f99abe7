"""mapper: put a :class:`neurosim.ir.Network` on a many-core chip and estimate what it costs.

A pipeline of pure stages over frozen data:
``partition`` (neurons -> fragments that fit a core) -> ``place`` (fragments -> cores on the mesh)
-> ``route`` (spike multicast trees, link loads) -> ``estimate`` (traffic, energy, latency) ->
``export`` (placement files). Chips are data: :class:`mapper.chipspec.ChipSpec` loaded from YAML.

``mapper`` imports ``neurosim.ir`` and ``neurosim.activity`` only, never a backend.
"""
