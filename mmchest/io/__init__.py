"""Framework-free I/O cores: DICOM decoding and RLE masks (no registry, no OpenMMLab imports)."""
