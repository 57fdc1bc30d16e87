"""The guest side: the firmware in QEMU on a NUMA topology, driven over QMP, compared with the model."""
